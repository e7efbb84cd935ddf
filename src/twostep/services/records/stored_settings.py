"""System admin settings rows (ThingsBoard's admin_settings table, SYS tenant), by key."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, ScalarSelect, bindparam, select, update

from twostep.domain.ids import NULL_UUID, new_id, now_ms
from twostep.storage import tables as t

_SYSTEM = t.admin_settings.c.tenant_id == NULL_UUID
_BY_KEY = select(t.admin_settings).where(_SYSTEM, t.admin_settings.c.key == bindparam("b_key"))


def get_row(conn: Connection, key: str) -> Any:
    return conn.execute(_BY_KEY, {"b_key": key}).first()


def value_of(key: str) -> ScalarSelect[Any]:
    """The stored JSON of `key` as a scalar subquery, so that a hot path reads its settings in
    the statement that reads its row (NULL when the key was never saved)."""
    return (
        select(t.admin_settings.c.json_value)
        .where(_SYSTEM, t.admin_settings.c.key == key)
        .scalar_subquery()
    )


def get(conn: Connection, key: str) -> dict[str, Any] | None:
    row = get_row(conn, key)
    return dict(row.json_value) if row is not None else None


def put(conn: Connection, key: str, value: dict[str, Any]) -> uuid.UUID:
    row = get_row(conn, key)
    if row is None:
        setting_id = new_id()
        conn.execute(
            t.admin_settings.insert().values(
                id=setting_id, created_time=now_ms(), tenant_id=NULL_UUID, key=key, json_value=value
            )
        )
        return setting_id
    conn.execute(
        update(t.admin_settings).where(t.admin_settings.c.id == row.id).values(json_value=value)
    )
    return row.id  # type: ignore[no-any-return]


SECURITY = "securitySettings"


def security_settings(conn: Connection) -> dict[str, Any]:
    return security_from_value(get(conn, SECURITY))


def security_from_value(value: dict[str, Any] | None) -> dict[str, Any]:
    from twostep.domain.security_settings import defaults

    return dict(value) if value else defaults()
