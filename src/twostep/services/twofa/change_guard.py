"""Who may change a user's 2FA, and what a change ends.

A configuration token (MFA_CONFIGURATION_TOKEN) may set up the user's first method(s) only within
its own login attempt: while the user has none, or only those that this attempt set up. When a
method becomes active, every other configuration token and pending second step of the user ends;
when one is removed or reset, all of them end. A pending enrollment belongs to the sign-in that
started it (a configuration token's login attempt, or a session family) and only that sign-in may
confirm it; it ends with that sign-in.

Every change begins by locking the user's credentials row, so that one user's changes, logins and
lockouts are decided one after the other.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, exists, select, update

from twostep.domain.authority import Authority
from twostep.domain.errors import AuthenticationFailed, TokenExpired
from twostep.domain.ids import now_ms
from twostep.services.sessions import tokens
from twostep.services.values import Claims
from twostep.storage import tables as t

DISABLED = "User is disabled"
_la = t.login_attempt.c


def _configuring(claims: Claims) -> bool:
    return claims.authority == Authority.MFA_CONFIGURATION_TOKEN


def owner_of(conn: Connection, claims: Claims) -> str:
    """The sign-in behind a token, as pending enrollments name it."""
    if _configuring(claims):
        return tokens.attempt_owner(claims.jti)  # type: ignore[arg-type]
    family = tokens.TokenService.family_of(conn, claims.session_id)
    if family is None:
        raise TokenExpired()
    return tokens.sign_in_owner(family)


def begin_change(conn: Connection, claims: Claims) -> str:
    """Lock the user's credentials (they must be enabled) and, for a configuration token, confirm
    that its attempt is live and may still set up methods. Returns the caller's sign-in."""
    if not tokens.lock_credentials(conn, claims.user_id):
        raise AuthenticationFailed(DISABLED)
    if _configuring(claims):
        attempt = conn.execute(
            select(_la.state, _la.expires_at, _la.enrolled).where(
                _la.id == claims.jti, _la.user_id == claims.user_id
            )
        ).first()
        if attempt is None or attempt.state != "ACTIVE" or attempt.expires_at <= now_ms():
            raise TokenExpired()
        has_methods = conn.execute(
            select(exists().where(t.twofa_config.c.user_id == claims.user_id))
        ).scalar()
        if has_methods and not attempt.enrolled:
            raise TokenExpired()  # someone else set 2FA up: this attempt is over
    return owner_of(conn, claims)


def method_added(conn: Connection, claims: Claims) -> None:
    """A method became active: the attempt that set it up (if a configuration token did) may go
    on, every other pending second step and configuration token of the user ends."""
    keep = claims.jti if _configuring(claims) else None
    if keep is not None:
        conn.execute(update(t.login_attempt).where(_la.id == keep).values(enrolled=True))
    tokens.end_login_attempts(conn, claims.user_id, keep=keep)


def methods_removed(conn: Connection, user_id: uuid.UUID) -> None:
    """A method was removed or reset: no second step or configuration token begun before goes on."""
    tokens.end_login_attempts(conn, user_id)
