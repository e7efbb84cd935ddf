"""A signed-in user's sessions: refresh, logout, the list of sign-ins and ending them."""

from __future__ import annotations

import uuid
from typing import Any

from twostep.bootstrap import Container
from twostep.domain.errors import (
    AuthenticationFailed,
    NotFound,
)
from twostep.services.records import audit, user_rows
from twostep.services.records.audit import login_data
from twostep.services.sessions.tokens import SignIn
from twostep.services.signin.password_login import INVALID, NOT_ACTIVE
from twostep.services.values import Client


def refresh(c: Container, refresh_token: str) -> dict[str, str]:
    from twostep.domain.authority import Authority

    claims = c.tokens.decode(refresh_token)
    if claims.authority != Authority.REFRESH_TOKEN:
        raise AuthenticationFailed("Invalid Refresh Token scope")
    with c.db.read() as conn:
        row = user_rows.by_id(conn, claims.user_id)
    if row is None:
        raise AuthenticationFailed(INVALID)
    if not row.enabled:
        raise AuthenticationFailed(NOT_ACTIVE)
    # Rotation: each refresh token works once (ThingsBoard leaves it valid until it expires), but
    # for a short grace period in which the same token gets the same successor pair again.
    pair = c.tokens.rotate(claims.session_id, user_rows.identity(row), refresh_token)
    if pair is None:
        raise AuthenticationFailed("Token is outdated")
    return pair


def _audit_logout(conn: Any, user_id: uuid.UUID, client: Client, **details: Any) -> None:
    """LOGOUT on the user's audit trail, in the transaction that ended their sessions."""
    row = user_rows.by_id(conn, user_id)
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
