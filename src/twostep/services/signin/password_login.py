"""Password login: the user, their credentials and settings read at once, the argon2id check,
failure counting and lockout, and what a right password earns (signin.admission)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from twostep.bootstrap import Container
from twostep.domain import password_policy
from twostep.domain.errors import (
    AuthenticationFailed,
    CredentialsExpired,
    PasswordViolation,
)
from twostep.domain.ids import now_ms
from twostep.services.notifications import notices
from twostep.services.records import audit, stored_settings, user_rows
from twostep.services.records.audit import login_data
from twostep.services.sessions import issuing
from twostep.services.signin import admission
from twostep.services.signin.credentials import store_reset_token
from twostep.services.twofa import config_store, platform_settings
from twostep.services.values import Client, UserRecord
from twostep.storage import tables as t

INVALID = "Invalid username or password"
# NIST SP 800-63B-4 3.2.2: at most 100 consecutive failed password attempts per account, whatever
# the security settings say (ThingsBoard's "no limit", null or 0, and anything above 100 mean 100).
PASSWORD_FAILURES_CAP = 100
LOCKED = "User account is locked due to security policy"
NOT_ACTIVE = "User account is not active"


def _policy_problems(policy: dict[str, Any], password: str) -> str | None:
    problems = password_policy.violations(password, policy)
    return "\n".join(problems) if problems else None


# The user, their credentials, their 2FA configs and both settings a login needs, in one round
# trip (one row per config, or one row with NULL config columns).
_LOGIN = (
    select(
        *user_rows.SIGN_IN_COLUMNS,
        stored_settings.value_of(stored_settings.SECURITY).label("security_settings"),
        stored_settings.value_of(platform_settings.KEY).label("twofa_settings"),
        *config_store.JOINED_COLUMNS,
    )
    .select_from(
        user_rows.CREDENTIALS_JOIN.outerjoin(
            t.twofa_config, t.twofa_config.c.user_id == t.user.c.id
        )
    )
    .where(t.user.c.email == bindparam("b_email"))
    .order_by(config_store.CONFIG_ORDER)
)


def login(c: Container, *, username: str, password: str, client: Client) -> dict[str, Any]:
    with c.db.read() as conn:
        found = conn.execute(_LOGIN, {"b_email": username}).all()
        row = found[0] if found else None
        stored = row.security_settings if row else stored_settings.get(conn, stored_settings.SECURITY)
    settings = stored_settings.security_from_value(stored)
    # Outside any transaction: the hash is the slow part and must not hold a lock.
    password_ok = c.passwords.verify(row.password_hash if row else None, password)
    if row is None:
        _unknown_user_failure(c, username, failure_limit(settings))
        raise AuthenticationFailed(INVALID)
    data = login_data(client.address, client.user_agent)
    # Once an account is locked or disabled, the right password is answered as a wrong one (and
    # counted like one): the answer and the work behind it must not tell whether it was right.
    if not password_ok or not row.enabled:
        raise AuthenticationFailed(count_password_failure(c, row, settings, data, right=password_ok))
    _password_rules(c, row, password, settings, data)
    # A correct password resets the password failure count (never the 2FA one), and upgrades a
    # hash made with older argon2 parameters: written by the transaction that issues the tokens.
    values: dict[str, Any] = {}
    if row.failed_login_attempts:
        values["failed_login_attempts"] = 0
    if c.passwords.needs_rehash(row.password_hash):
        values["password_hash"] = c.passwords.hash(password)
    try:
        return admission.admit(
            c,
            row,
            client,
            platform_settings.from_value(row.twofa_settings),
            config_store.joined_rows(found),
            **values,
        )
    except issuing.AccountClosed:
        # Locked or disabled while the password was being checked: the lock won.
        raise AuthenticationFailed(count_password_failure(c, row, settings, data, right=True)) from None


def _password_rules(
    c: Container, row: UserRecord, password: str, settings: dict[str, Any], data: dict[str, Any]
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
        enabled = issuing.confirm_enabled(conn, row.id)
        if enabled and expired and not violates:
            token = store_reset_token(c, conn, row.id, settings)
    if not enabled:
        raise AuthenticationFailed(count_password_failure(c, row, settings, data, right=True))
    if violates:
        raise PasswordViolation(
            "The entered password violates our policies. If this is your real password, please reset it."
        )
    if token is None:  # expired, not violating, enabled: the token was stored above
        raise AssertionError("no reset token for an expired password")
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


def count_password_failure(
    c: Container,
    row: UserRecord,
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
    notices.queued_email(
        c,
        settings.get("userLockoutNotificationEmail"),
        "account_lockout",
        {"locked_account": email, "max_attempts": max_attempts},
    )
