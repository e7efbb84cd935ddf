"""Passwords chosen by their owner: change, activation, reset (request, link, new password)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from twostep.bootstrap import Container
from twostep.channels.render import render_email
from twostep.domain import password_blocklist, password_policy
from twostep.domain.errors import (
    AuthenticationFailed,
    BadRequest,
    TokenExpired,
)
from twostep.domain.ids import NULL_UUID, now_ms
from twostep.services.notifications import notices
from twostep.services.records import audit, mail_queue, stored_settings, user_rows
from twostep.services.records.audit import login_data
from twostep.services.sessions import issuing, tokens
from twostep.services.signin import admission, credentials
from twostep.services.signin.credentials import issue_reset_token
from twostep.services.signin.password_login import LOCKED, NOT_ACTIVE, count_password_failure
from twostep.services.values import Client
from twostep.storage import tables as t


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
        row = user_rows.by_id(conn, user_id)
        settings = stored_settings.security_settings(conn)
    if row is None:
        raise BadRequest("Current password doesn't match!")
    data = login_data(client.address, client.user_agent)
    if not c.passwords.verify(row.password_hash, current):
        if count_password_failure(c, row, settings, data, "CREDENTIALS_UPDATED") == LOCKED:
            raise AuthenticationFailed(LOCKED)
        raise BadRequest("Current password doesn't match!")
    check_new_password(c, settings, new, row.password_history, row.email)
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
            user_rows.identity(row),
            conn=conn,
            family_id=sign_in.family if sign_in else None,
            signed_in_at=sign_in.began if sign_in else None,
        )
    notices.password_changed(c, row, client, f"{base_url}/login/resetPasswordRequest")
    return pair


def check_new_password(
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
        settings = stored_settings.security_settings(conn)
        email = conn.execute(
            select(t.user.c.email)
            .join(t.user_credentials, t.user_credentials.c.user_id == t.user.c.id)
            .where(t.user_credentials.c.activate_token_hash == digest)
        ).scalar()
    check_new_password(c, settings, password, None, email)
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
        row = user_rows.by_id(conn, cred.user_id)
    if send_mail:
        notices.best_effort_email(
            c, row.email, "account_activated", {"login_link": f"{base_url}/login"}
        )
    try:
        return admission.after_activation(c, row, client)
    except issuing.AccountClosed:
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
        row = user_rows.by_email(conn, email)
        settings = stored_settings.security_settings(conn)
    # Decided once per request (a retry is the same request), keyed by the address asked for.
    within_limit = not first_attempt or c.limiter.hit(
        "reset-request:" + c.codes.hash(email, scope="reset-request")[:32],
        capacity=RESET_REQUESTS_PER_HOUR,
        period_s=3600,
    )
    send = row is not None and row.enabled and within_limit
    token = issue_reset_token(c, row.id if send else NULL_UUID, settings)
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
        settings = stored_settings.security_settings(conn)
    if cred is None:
        raise BadRequest("Invalid reset token!")
    if cred.reset_token_exp < now_ms():
        raise BadRequest("Password reset token expired")
    check_new_password(c, settings, password, cred.password_history, cred.email)
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
        row = user_rows.by_id(conn, cred.user_id)
    notices.best_effort_email(
        c, row.email, "password_was_reset", {"login_link": f"{base_url}/login"}
    )
