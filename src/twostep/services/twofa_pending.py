"""A user's pending enrollment state (twofa_pending): what `generate` or `submit` handed out and
verify-and-save will check against, one row per user and provider."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from twostep.domain.ids import now_ms
from twostep.storage import tables as t

_STATE = [c.name for c in t.twofa_pending.c if not c.primary_key]
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def replace(conn: Connection, user_id: uuid.UUID, provider: str, **state: Any) -> None:
    """Store the new pending state, replacing any earlier one, in one upsert: parallel calls of
    one user never race on the primary key (a delete then an insert did, on PostgreSQL: a unique
    violation for all but one). The last writer's state counts, as if they came one by one."""
    row = {name: None for name in _STATE} | {"created_time": now_ms()} | state
    statement = _INSERT[conn.dialect.name](t.twofa_pending).values(
        user_id=user_id, provider_type=provider, **row
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[t.twofa_pending.c.user_id, t.twofa_pending.c.provider_type],
            set_={name: statement.excluded[name] for name in _STATE},
        )
    )
