"""Password login, refresh, logout, password change, activation and password reset."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from twostep.bootstrap import Container
from twostep.channels.render import render_email
from twostep.domain import password_blocklist, password_policy
from twostep.domain.errors import (
    AuthenticationFailed,
    BadRequest,
    CredentialsExpired,
    NotFound,
    PasswordViolation,
    TokenExpired,
)
from twostep.domain.ids import NULL_UUID, now_ms
from twostep.services import (
    audit,
    credentials,
    mail_queue,
    settings_store,
    sign_in,
    tokens,
    twofa_notify,
    twofa_settings,
    twofa_store,
    users_repo,
)
from twostep.services.audit import login_data
from twostep.services.tokens import SignIn
from twostep.storage import tables as t

INVALID = "Invalid username or password"
# NIST SP 800-63B-4 3.2.2: at most 100 consecutive failed password attempts per account, whatever
# the security settings say (ThingsBoard's "no limit", null or 0, and anything above 100 mean 100).
PASSWORD_FAILURES_CAP = 100
LOCKED = "User account is locked due to security policy"
NOT_ACTIVE = "User account is not active"


@dataclass(frozen=True)
class Client:
    address: str
    user_agent: str | None


def _policy_problems(policy: dict[str, Any], password: str) -> str | None:
    problems = password_policy.violations(password, policy)
    return "\n".join(problems) if problems else None


# The user, their credentials, their 2FA configs and both settings a login needs, in one round
# trip (one row per config, or one row with NULL config columns).
_LOGIN = (
    select(
        *users_repo.SIGN_IN_COLUMNS,
        settings_store.value_of(settings_store.SECURITY).label("security_settings"),
        settings_store.value_of(twofa_settings.KEY).label("twofa_settings"),
        *twofa_store.JOINED_COLUMNS,
    )
    .select_from(
        users_repo.CREDENTIALS_JOIN.outerjoin(
            t.twofa_config, t.twofa_config.c.user_id == t.user.c.id
        )
    )
    .where(t.user.c.email == bindparam("b_email"))
    .order_by(twofa_store.CONFIG_ORDER)
)


def login(c: Container, *, username: str, password: str, client: Client) -> dict[str, Any]:
    with c.db.read() as conn:
        found = conn.execute(_LOGIN, {"b_email": username}).all()
        row = found[0] if found else None
        stored = row.security_settings if row else settings_store.get(conn, settings_store.SECURITY)
    settings = settings_store.security_from_value(stored)
    # Outside any transaction: the hash is the slow part and must not hold a lock.
    password_ok = c.passwords.verify(row.password_hash if row else None, password)
    if row is None:
        _unknown_user_failure(c, username, failure_limit(settings))
        raise AuthenticationFailed(INVALID)
    data = login_data(client.address, client.user_agent)
    # Once an account is locked or disabled, the right password is answered as a wrong one (and
    # counted like one): the answer and the work behind it must not tell whether it was right.
    if not password_ok or not row.enabled:
        raise AuthenticationFailed(_password_failure(c, row, settings, data, right=password_ok))
    _password_rules(c, row, password, settings, data)
    # A correct password resets the password failure count (never the 2FA one), and upgrades a
    # hash made with older argon2 parameters: written by the transaction that issues the tokens.
    values: dict[str, Any] = {}
    if row.failed_login_attempts:
        values["failed_login_attempts"] = 0
    if c.passwords.needs_rehash(row.password_hash):
        values["password_hash"] = c.passwords.hash(password)
    try:
        return sign_in.admit(
            c,
            row,
            client,
            twofa_settings.from_value(row.twofa_settings),
            twofa_store.joined_rows(found),
            **values,
        )
    except sign_in.AccountClosed:
        # Locked or disabled while the password was being checked: the lock won.
        raise AuthenticationFailed(_password_failure(c, row, settings, data, right=True)) from None


def _password_rules(
    c: Container, row: Any, password: str, settings: dict[str, Any], data: dict[str, Any]
) -> None:
    """ThingsBoard's answers for a right password that its policy no longer accepts or that has
    expired (the latter with a reset token). Given only while the credentials are enabled, as
    confirmed by a transaction: the account may have been locked while the password was checked."""
    policy = settings["passwordPolicy"]
    violates = bool(
        policy.get("forceUserToResetPasswordIfNotValid") and _policy_problems(policy, password)
    )
    days = policy.get("passwordExpirationPeriodDays")
    expired = (
        isinstance(days, int)
        and days > 0
        and (row.password_set_time or 0) + days * 86_400_000 < now_ms()
    )
    if not (violates or expired):
        return
    token = None
    with c.db.transaction() as conn:
        enabled = sign_in.confirm_enabled(conn, row.id)
        if enabled and expired and not violates:
            token = _store_reset_token(c, conn, row.id, settings)
    if not enabled:
        raise AuthenticationFailed(_password_failure(c, row, settings, data, right=True))
    if violates:
        raise PasswordViolation(
            "The entered password violates our policies. If this is your real password, please reset it."
        )
    raise CredentialsExpired("User password expired!", token)


def failure_limit(settings: dict[str, Any]) -> int:
    """Consecutive wrong passwords after which an account locks."""
    configured = settings.get("maxFailedLoginAttempts")
    if isinstance(configured, int) and 0 < configured <= PASSWORD_FAILURES_CAP:
        return configured
    return PASSWORD_FAILURES_CAP


def _unknown_user_failure(c: Container, username: str, max_attempts: int) -> None:
    """Unknown users lock out like known ones, so the lockout message reveals nothing."""
    key = "login-unknown:" + c.codes.hash(username, scope="login-unknown")[:32]
    if not c.limiter.hit(key, capacity=max_attempts, period_s=86_400):
        raise AuthenticationFailed(LOCKED)


def _password_failure(
    c: Container,
    row: Any,
    settings: dict[str, Any],
    data: dict[str, Any],
    action: str = "LOGIN",
    *,
    right: bool = False,
) -> str:
    """Counts a failed password (a wrong one at login or as the current password of a change, or
    any password of a disabled account) and locks the account past the limit; the message to
    answer with, which depends only on the count. The audit trail (for administrators) tells a
    right password on a disabled account apart."""
    max_attempts = failure_limit(settings)
    with c.db.transaction() as conn:
        failures, enabled = conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == row.id)
            .values(failed_login_attempts=t.user_credentials.c.failed_login_attempts + 1)
            .returning(
                t.user_credentials.c.failed_login_attempts, t.user_credentials.c.enabled
            )
        ).one()
        locked_now = failures > max_attempts and enabled
        message = LOCKED if failures > max_attempts else INVALID
        if locked_now:
            conn.execute(
                update(t.user_credentials)
                .where(t.user_credentials.c.user_id == row.id)
                .values(enabled=False)
            )
            c.tokens.revoke_user(conn, row.id)
            audit.record_user_event(conn, row, "LOCKOUT", data)
        audit.record_user_event(conn, row, action, data, failure=NOT_ACTIVE if right else message)
    if locked_now:
        _notify_lockout(c, row.email, settings, max_attempts)
    return message


def _notify_lockout(c: Container, email: str, settings: dict[str, Any], max_attempts: Any) -> None:
    # Queued: an SMTP exchange here would make the request that locks a known account slower
    # than the same request for an unknown address.
    twofa_notify.queued_email(
        c,
        settings.get("userLockoutNotificationEmail"),
        "account_lockout",
        {"locked_account": email, "max_attempts": max_attempts},
    )


def _issue_reset_token(c: Container, user_id: uuid.UUID, settings: dict[str, Any]) -> str:
    with c.db.transaction() as conn:
        return _store_reset_token(c, conn, user_id, settings)


def _store_reset_token(
    c: Container, conn: Connection, user_id: uuid.UUID, settings: dict[str, Any]
) -> str:
    token = credentials.new_token()
    ttl = settings.get("passwordResetTokenTtl") or 24
    conn.execute(
        update(t.user_credentials)
        .where(t.user_credentials.c.user_id == user_id)
        .values(
            reset_token_hash=credentials.token_hash(c, "reset", token),
            reset_token_exp=now_ms() + ttl * 3600 * 1000,
        )
    )
    return token


def refresh(c: Container, refresh_token: str) -> dict[str, str]:
    from twostep.domain.authority import Authority

    claims = c.tokens.decode(refresh_token)
    if claims.authority != Authority.REFRESH_TOKEN:
        raise AuthenticationFailed("Invalid Refresh Token scope")
    with c.db.read() as conn:
        row = users_repo.by_id(conn, claims.user_id)
    if row is None:
        raise AuthenticationFailed(INVALID)
    if not row.enabled:
        raise AuthenticationFailed(NOT_ACTIVE)
    # Rotation: each refresh token works once (ThingsBoard leaves it valid until it expires), but
    # for a short grace period in which the same token gets the same successor pair again.
    pair = c.tokens.rotate(claims.session_id, users_repo.identity(row), refresh_token)
    if pair is None:
        raise AuthenticationFailed("Token is outdated")
    return pair


def _audit_logout(conn: Any, user_id: uuid.UUID, client: Client, **details: Any) -> None:
    """LOGOUT on the user's audit trail, in the transaction that ended their sessions."""
    row = users_repo.by_id(conn, user_id)
    if row is not None:
        audit.record_user_event(
            conn, row, "LOGOUT", login_data(client.address, client.user_agent, **details)
        )


def logout(
    c: Container, *, user_id: uuid.UUID, session_id: uuid.UUID | None, client: Client
) -> None:
    with c.db.transaction() as conn:
        if session_id is not None:
            c.tokens.revoke_session(conn, user_id, session_id)
        _audit_logout(conn, user_id, client)


def logout_others(
    c: Container, *, user_id: uuid.UUID, session_id: uuid.UUID | None, client: Client
) -> int:
    """Ends every other session of the user (other devices, and whoever else holds a token of
    theirs), keeping the caller's sign-in: offered after a change of 2FA (ASVS 7.4.3)."""
    if session_id is None:
        return 0
    with c.db.transaction() as conn:
        ended = c.tokens.revoke_others(conn, user_id, session_id)
        _audit_logout(conn, user_id, client, otherSessionsEnded=ended)
    return ended


def sign_ins(c: Container, *, user_id: uuid.UUID, session_id: uuid.UUID | None) -> list[SignIn]:
    """Where the user is signed in (ASVS 7.5.2), so that they can end what they do not recognise."""
    with c.db.read() as conn:
        return c.tokens.sign_ins(conn, user_id, session_id)


def end_sign_in(c: Container, *, user_id: uuid.UUID, sign_in: uuid.UUID, client: Client) -> int:
    """Ends one sign-in of the user (every session refreshed from it); 404 when it is not one of
    their live sign-ins, so that nobody learns of another user's."""
    with c.db.transaction() as conn:
        ended = c.tokens.end_sign_in(conn, user_id, sign_in)
        if not ended:
            raise NotFound("Requested item wasn't found!")
        _audit_logout(conn, user_id, client, signInEnded=str(sign_in))
    return ended


def change_password(
    c: Container,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None,
    current: str,
    new: str,
    client: Client,
    base_url: str,
) -> dict[str, str]:
    """Every session of the user ends; the caller gets a new pair that continues its own sign-in
    (the password alone is not the second factor, so it does not make the sign-in recent). A
    wrong current password counts as a failed login (a stolen session must not become a way to
    guess the password); the owner is told of the change."""
    with c.db.read() as conn:
        row = users_repo.by_id(conn, user_id)
        settings = settings_store.security_settings(conn)
    if row is None:
        raise BadRequest("Current password doesn't match!")
    data = login_data(client.address, client.user_agent)
    if not c.passwords.verify(row.password_hash, current):
        if _password_failure(c, row, settings, data, "CREDENTIALS_UPDATED") == LOCKED:
            raise AuthenticationFailed(LOCKED)
        raise BadRequest("Current password doesn't match!")
    _check_new_password(c, settings, new, row.password_history, row.email)
    if c.passwords.verify(row.password_hash, new):
        raise BadRequest("New password should be different from existing!")
    new_hash = c.passwords.hash(new)
    with c.db.transaction() as conn:
        # Decided here, not when the request began: the hashes above take long enough for the
        # owner to end this sign-in or an administrator to disable the account meanwhile.
        if not tokens.lock_credentials(conn, user_id) or not tokens.session_in_force(
            conn, session_id
        ):
            raise TokenExpired()
        sign_in = c.tokens.sign_in_of(conn, session_id)
        credentials.store_password(conn, user_id, new_hash, row.password_history, now_ms())
        c.tokens.revoke_user(conn, user_id)
        audit.record_user_event(conn, row, "CREDENTIALS_UPDATED", {**data, "password": "changed"})
        pair = c.tokens.issue_pair(
            users_repo.identity(row),
            conn=conn,
            family_id=sign_in.family if sign_in else None,
            signed_in_at=sign_in.began if sign_in else None,
        )
    twofa_notify.password_changed(c, row, client, f"{base_url}/login/resetPasswordRequest")
    return pair


def _check_new_password(
    c: Container, settings: dict[str, Any], password: str, history: Any, email: str | None
) -> None:
    """ThingsBoard's policy, then the blocklist that no policy can turn off, then reuse."""
    policy = settings["passwordPolicy"]
    problems = password_policy.violations(password, policy)
    problems += password_blocklist.problems(password, email)
    days = policy.get("passwordReuseFrequencyDays")
    if history is not None and credentials.password_reused(c, history, password, days, now_ms()):
        problems.append(f"Password was already used for the last {days} days")
    if problems:
        raise BadRequest("\n".join(problems))


def check_activate_token(c: Container, token: str) -> str:
    """'ok', 'expired' or 'unknown' (for the link's redirect)."""
    with c.db.read() as conn:
        row = conn.execute(
            select(t.user_credentials.c.activate_token_exp, t.user_credentials.c.enabled).where(
                t.user_credentials.c.activate_token_hash
                == credentials.token_hash(c, "activate", token)
            )
        ).first()
    if row is None or row.enabled:
        return "unknown"
    return "expired" if row.activate_token_exp < now_ms() else "ok"


def activate(
    c: Container, *, token: str, password: str, send_mail: bool, client: Client, base_url: str
) -> dict[str, Any]:
    digest = credentials.token_hash(c, "activate", token)
    with c.db.read() as conn:
        settings = settings_store.security_settings(conn)
        email = conn.execute(
            select(t.user.c.email)
            .join(t.user_credentials, t.user_credentials.c.user_id == t.user.c.id)
            .where(t.user_credentials.c.activate_token_hash == digest)
        ).scalar()
    _check_new_password(c, settings, password, None, email)
    password_hash = c.passwords.hash(password)
    with c.db.transaction() as conn:
        cred = conn.execute(
            select(t.user_credentials).where(t.user_credentials.c.activate_token_hash == digest)
        ).first()
        if cred is None:
            raise BadRequest(f"Unable to find user credentials by activateToken [{token[:64]}]")
        if cred.enabled:
            raise BadRequest("User credentials already activated")
        if cred.activate_token_exp < now_ms():
            raise BadRequest("Activation token expired")
        # Conditional on the token still being there: a token activates exactly once.
        done = conn.execute(
            update(t.user_credentials)
            .where(
                t.user_credentials.c.user_id == cred.user_id,
                t.user_credentials.c.activate_token_hash == digest,
            )
            .values(
                enabled=True,
                activate_token_hash=None,
                activate_token_enc=None,
                activate_token_exp=None,
                # Wrong passwords sent to the address before it had one count for nothing after.
                failed_login_attempts=0,
                twofa_failed_attempts=0,
            )
        ).rowcount
        if done != 1:
            raise BadRequest("User credentials already activated")
        credentials.store_password(
            conn, cred.user_id, password_hash, cred.password_history, now_ms()
        )
        row = users_repo.by_id(conn, cred.user_id)
    if send_mail:
        twofa_notify.best_effort_email(
            c, row.email, "account_activated", {"login_link": f"{base_url}/login"}
        )
    try:
        return sign_in.after_activation(c, row, client)
    except sign_in.AccountClosed:
        raise AuthenticationFailed(NOT_ACTIVE) from None


def request_password_reset(c: Container, *, email: str, base_url: str) -> None:
    """Queues the request and nothing else: the same statement for every address, known or not
    (no lookup here), so that neither the answer, nor its time, nor the next request's time
    tells whether the account exists. The mail queue's worker does the rest
    (send_password_reset)."""
    mail_queue.enqueue(c, PASSWORD_RESET, {"email": email, "base_url": base_url})


PASSWORD_RESET = "password_reset"  # the mail queue's kind of row
RESET_REQUESTS_PER_HOUR = 5  # per address


def send_password_reset(c: Container, payload: dict[str, Any], *, first_attempt: bool) -> None:
    """The queued half of a reset request, run by the mail queue's worker, off any request. Only
    an existing, enabled account within RESET_REQUESTS_PER_HOUR gets a new token and the mail;
    every other address goes through the same statements (lookup, limit, a token write that
    matches no row, the rendering), so that not even the worker's load tells them apart. Raises
    DeliveryFailed for the queue to try again (with a new token: the old one was never sent)."""
    email, base_url = str(payload["email"]), str(payload["base_url"])
    with c.db.read() as conn:
        row = users_repo.by_email(conn, email)
        settings = settings_store.security_settings(conn)
    # Decided once per request (a retry is the same request), keyed by the address asked for.
    within_limit = not first_attempt or c.limiter.hit(
        "reset-request:" + c.codes.hash(email, scope="reset-request")[:32],
        capacity=RESET_REQUESTS_PER_HOUR,
        period_s=3600,
    )
    send = row is not None and row.enabled and within_limit
    token = _issue_reset_token(c, row.id if send else NULL_UUID, settings)
    ttl = settings.get("passwordResetTokenTtl") or 24
    context = {"link": f"{base_url}/api/noauth/resetPassword?resetToken={token}", "ttl_hours": ttl}
    if send:
        c.delivery.send_email(row.email, "reset_password", context)
    else:
        render_email("reset_password", context)


def check_reset_token(c: Container, token: str) -> str:
    with c.db.read() as conn:
        row = conn.execute(
            select(t.user_credentials.c.reset_token_exp).where(
                t.user_credentials.c.reset_token_hash == credentials.token_hash(c, "reset", token)
            )
        ).first()
    if row is None:
        return "unknown"
    return "expired" if row.reset_token_exp < now_ms() else "ok"


def reset_password(c: Container, *, token: str, password: str, base_url: str) -> None:
    digest = credentials.token_hash(c, "reset", token)
    with c.db.read() as conn:
        cred = conn.execute(
            select(t.user_credentials, t.user.c.email)
            .join(t.user, t.user.c.id == t.user_credentials.c.user_id)
            .where(t.user_credentials.c.reset_token_hash == digest)
        ).first()
        settings = settings_store.security_settings(conn)
    if cred is None:
        raise BadRequest("Invalid reset token!")
    if cred.reset_token_exp < now_ms():
        raise BadRequest("Password reset token expired")
    _check_new_password(c, settings, password, cred.password_history, cred.email)
    if cred.password_hash and c.passwords.verify(cred.password_hash, password):
        raise BadRequest("New password should be different from existing!")
    new_hash = c.passwords.hash(password)
    with c.db.transaction() as conn:
        # A locked or disabled account's password is not reset (its reset link predates it).
        if not tokens.lock_credentials(conn, cred.user_id):
            raise AuthenticationFailed(NOT_ACTIVE)
        done = conn.execute(
            update(t.user_credentials)
            .where(
                t.user_credentials.c.user_id == cred.user_id,
                t.user_credentials.c.reset_token_hash == digest,
            )
            .values(reset_token_hash=None, reset_token_exp=None)
        ).rowcount
        if done != 1:
            raise BadRequest("Invalid reset token!")
        credentials.store_password(conn, cred.user_id, new_hash, cred.password_history, now_ms())
        c.tokens.revoke_user(conn, cred.user_id)
        row = users_repo.by_id(conn, cred.user_id)
    twofa_notify.best_effort_email(
        c, row.email, "password_was_reset", {"login_link": f"{base_url}/login"}
    )
