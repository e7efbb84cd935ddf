"""Pieces the tenant, customer and user services share: versioned updates and the audit actor."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Table, update

from twostep.domain.errors import VersionConflict
from twostep.domain.ids import parse_uuid
from twostep.domain.permissions import Caller
from twostep.services.records.audit import Actor


def actor(caller: Caller) -> Actor:
    return Actor(caller.user_id, caller.email, caller.tenant_id, caller.customer_id)


def update_versioned(
    conn: Connection,
    table: Table,
    existing: Any,
    expected: int | None,
    values: dict[str, Any],
    entity: str,
) -> None:
    """ThingsBoard's optimistic locking (§0.4): a stale `expected` is a 409, an absent one
    overwrites; every save bumps the version. With `expected`, the UPDATE is conditional so a
    concurrent save between our read and write is a 409 too, never a lost update."""
    conflict = VersionConflict(f"{entity} was already changed by someone else")
    if expected is not None and expected != existing.version:
        raise conflict
    stmt = update(table).where(table.c.id == existing.id)
    if expected is not None:
        stmt = stmt.where(table.c.version == expected)
    result = conn.execute(stmt.values(**values, version=table.c.version + 1))
    if result.rowcount != 1:
        raise conflict


def parse_id_list(raw: str) -> list[uuid.UUID]:
    """`?tenantIds=a,b,c`: each one a UUID (400 otherwise), duplicates dropped, order kept."""
    ids: list[uuid.UUID] = []
    for part in raw.split(","):
        part = part.strip()
        if part:
            value = parse_uuid(part)
            if value not in ids:
                ids.append(value)
    return ids
