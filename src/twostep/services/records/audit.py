"""Audit log writer, partitioned by the acting user's tenant as ThingsBoard does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from twostep.domain.ids import NULL_UUID, new_id, now_ms
from twostep.domain.useragent import describe
from twostep.services.values import UserRecord
from twostep.storage import tables as t

_INSERT = t.audit_log.insert()  # built once; rows go in as parameters


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    user_name: str | None
    tenant_id: uuid.UUID
    customer_id: uuid.UUID


def login_data(client_address: str, user_agent: str | None, **extra: Any) -> dict[str, Any]:
    return {"clientAddress": client_address, **describe(user_agent), **extra}


def record(
    conn: Connection,
    actor: Actor,
    action_type: str,
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    entity_name: str | None = None,
    data: dict[str, Any] | None = None,
    failure: str | None = None,
    customer_id: uuid.UUID | None = None,
) -> None:
    conn.execute(
        _INSERT,
        {
            "id": new_id(),
            "created_time": now_ms(),
            "tenant_id": actor.tenant_id,
            "customer_id": customer_id
            if customer_id and customer_id != NULL_UUID
            else actor.customer_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "entity_name": entity_name,
            "user_id": actor.user_id,
            "user_name": actor.user_name,
            "action_type": action_type,
            "action_data": data or {},
            "action_status": "FAILURE" if failure else "SUCCESS",
            "action_failure_details": failure or "",
        },
    )


def record_user_event(
    conn: Connection,
    user: UserRecord,  # a tb_user row
    action_type: str,
    data: dict[str, Any],
    failure: str | None = None,
) -> None:
    """LOGIN / LOGOUT / LOCKOUT: the user is both actor and entity."""
    actor = Actor(user.id, user.email, user.tenant_id, user.customer_id)
    record(
        conn,
        actor,
        action_type,
        entity_type="USER",
        entity_id=user.id,
        entity_name=user.email,
        data=data,
        failure=failure,
    )
