"""Issuing tokens in the transaction that decides it.

Every issuing transaction first confirms, on the user's credentials row, that the credentials
are still enabled: a lockout or a disabling locks the same row, so whichever commits first wins
and a pair is never issued after the lock has committed (on PostgreSQL the row lock orders them
across instances; SQLite's writers are serialised)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, update

from twostep.bootstrap import Container
from twostep.domain.authority import Authority
from twostep.domain.ids import now_ms
from twostep.domain.twofa.platform import PlatformSettings
from twostep.services.records import audit, user_rows
from twostep.services.records.audit import login_data
from twostep.services.values import ClientSeen, UserRecord
from twostep.storage import tables as t

_uc = t.user_credentials.c
_NEW_ATTEMPT = t.login_attempt.insert()  # built once; rows go in as parameters


class AccountClosed(Exception):
    """The credentials were disabled (locked) before anything could be issued."""


def confirm_enabled(conn: Connection, user_id: uuid.UUID, **values: Any) -> bool:
    """Lock the user's credentials row and confirm they are enabled, writing `values` if so.

    Lockout, disabling and every transaction that issues tokens or changes 2FA for the user take
    this row first, so they queue on it (and never deadlock on other rows)."""
    changes = values or {"enabled": True}  # a no-op write still takes the row lock
    done = conn.execute(
        update(t.user_credentials)
        .where(_uc.user_id == user_id, _uc.enabled.is_(True))
        .values(**changes)
    ).rowcount
    return done == 1


def issue_full(
    c: Container,
    conn: Connection,
    user: UserRecord,
    client: ClientSeen,
    *,
    stamped: bool = False,
    **audit_extra: Any,
) -> dict[str, str]:
    """The normal token pair, LOGIN audited and lastLoginTs set (unless the caller's confirming
    write already `stamped` it), in the caller's transaction (which has confirmed the
    credentials)."""
    pair = c.tokens.issue_pair(user_rows.identity(user), conn=conn, client=client)
    if not stamped:
        conn.execute(
            update(t.user_credentials).where(_uc.user_id == user.id).values(last_login_ts=now_ms())
        )
    audit.record_user_event(
        conn, user, "LOGIN", login_data(client.address, client.user_agent, **audit_extra)
    )
    return pair


def restricted(
    c: Container,
    conn: Connection,
    user: UserRecord,
    scope: Authority,
    settings: PlatformSettings | None,
    client: ClientSeen,
) -> dict[str, Any]:
    """A pre-verification or configuration token, bound to a new login attempt."""
    now = now_ms()
    ttl = settings.token_lifetime if settings else 1800
    attempt_id = uuid.uuid4()
    conn.execute(
        _NEW_ATTEMPT,
        {
            "id": attempt_id,
            "user_id": user.id,
            "scope": scope.value,
            "created_time": now,
            "expires_at": now + ttl * 1000,
            "state": "ACTIVE",
            "client_address": client.address,
            "user_agent": (client.user_agent or "")[:512],
            "failures": 0,
            "notified": False,
            "enrolled": False,
        },
    )
    token = c.tokens.issue_restricted(
        user_rows.identity(user), scope, jti=attempt_id, issued_ms=now, ttl=ttl
    )
    return {"token": token, "scope": scope.value, "refreshToken": None}
