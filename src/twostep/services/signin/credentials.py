"""Activation and password-reset tokens, password storage and history."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import Connection, select, update

from twostep.bootstrap import Container
from twostep.domain.ids import now_ms
from twostep.storage import tables as t

RENEW_BEFORE_MS = 15 * 60 * 1000  # ThingsBoard renews an activation token with < 15 min left


def new_token() -> str:
    """30 random bytes, URL-safe base64 without padding: 40 characters, as ThingsBoard makes them."""
    return secrets.token_urlsafe(30)


def token_hash(c: Container, purpose: str, token: str) -> str:
    return c.codes.hash(token, scope=purpose)


def issue_activation_token(
    c: Container, conn: Connection, user_id: uuid.UUID, ttl_hours: int
) -> str:
    token = new_token()
    conn.execute(
        update(t.user_credentials)
        .where(t.user_credentials.c.user_id == user_id)
        .values(
            activate_token_hash=token_hash(c, "activate", token),
            activate_token_enc=c.box.seal(token, context=f"activate:{user_id}"),
            activate_token_exp=now_ms() + ttl_hours * 3600 * 1000,
        )
    )
    return token


def current_activation_token(
    c: Container, conn: Connection, user_id: uuid.UUID, ttl_hours: int
) -> tuple[str, int] | None:
    """The user's activation token (renewed when < 15 min are left) and its expiry, or None when
    the user is already activated."""
    row = conn.execute(
        select(t.user_credentials).where(t.user_credentials.c.user_id == user_id)
    ).first()
    if row is None or row.enabled or row.activate_token_enc is None:
        return None
    if row.activate_token_exp - now_ms() < RENEW_BEFORE_MS:
        token = issue_activation_token(c, conn, user_id, ttl_hours)
        return token, now_ms() + ttl_hours * 3600 * 1000
    return c.box.open(row.activate_token_enc, context=f"activate:{user_id}"), row.activate_token_exp


def create_disabled_credentials(
    c: Container, conn: Connection, user_id: uuid.UUID, ttl_hours: int
) -> str:
    """A new user's credentials: disabled, no password, an activation token. Returns the token."""
    conn.execute(
        t.user_credentials.insert().values(
            user_id=user_id,
            enabled=False,
            password_history=[],
            failed_login_attempts=0,
            twofa_failed_attempts=0,
        )
    )
    return issue_activation_token(c, conn, user_id, ttl_hours)


def password_reused(c: Container, history: Any, password: str, days: Any, now: int) -> bool:
    if not isinstance(days, int) or days <= 0:
        return False
    since = now - days * 86_400_000
    return any(ts > since and c.passwords.verify(h, password) for ts, h in (history or []))


def store_password(
    conn: Connection, user_id: uuid.UUID, password_hash: str, history: Any, now: int
) -> None:
    entries = [list(e) for e in (history or [])][-49:]  # bounded, unlike ThingsBoard's
    entries.append([now, password_hash])
    conn.execute(
        update(t.user_credentials)
        .where(t.user_credentials.c.user_id == user_id)
        .values(
            password_hash=password_hash,
            password_set_time=now,
            password_history=entries,
            # A reset link issued before the change must not undo it.
            reset_token_hash=None,
            reset_token_exp=None,
        )
    )


def email_changed(c: Container, conn: Connection, user_id: uuid.UUID, ttl_hours: int) -> None:
    """Links mailed to the old address end: the password-reset link, and an activation link
    (a not yet activated user gets a new one, to be sent to the new address)."""
    row = conn.execute(
        select(t.user_credentials.c.enabled, t.user_credentials.c.activate_token_enc).where(
            t.user_credentials.c.user_id == user_id
        )
    ).first()
    conn.execute(
        update(t.user_credentials)
        .where(t.user_credentials.c.user_id == user_id)
        .values(reset_token_hash=None, reset_token_exp=None)
    )
    if row is not None and not row.enabled and row.activate_token_enc is not None:
        issue_activation_token(c, conn, user_id, ttl_hours)


def issue_reset_token(c: Container, user_id: uuid.UUID, settings: dict[str, Any]) -> str:
    with c.db.transaction() as conn:
        return store_reset_token(c, conn, user_id, settings)


def store_reset_token(
    c: Container, conn: Connection, user_id: uuid.UUID, settings: dict[str, Any]
) -> str:
    token = new_token()
    ttl = settings.get("passwordResetTokenTtl") or 24
    conn.execute(
        update(t.user_credentials)
        .where(t.user_credentials.c.user_id == user_id)
        .values(
            reset_token_hash=token_hash(c, "reset", token),
            reset_token_exp=now_ms() + ttl * 3600 * 1000,
        )
    )
    return token
