"""Tenant profiles: the default one (made at first start and when a tenant needs it) and reads."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select

from twostep.bootstrap import Container
from twostep.domain.errors import NotFound
from twostep.domain.ids import new_id, now_ms
from twostep.domain.permissions import Caller, Operation, check, may_access_tenant_profile
from twostep.storage import tables as t

DEFAULT_PROFILE_DATA = {
    "configuration": {
        "type": "DEFAULT",
        "maxUsers": 0,
        "maxCustomers": 0,
        "maxEmails": 0,
        "smsEnabled": None,
        "maxSms": 0,
        "maxDebugModeDurationMinutes": 15,
    },
    "queueConfiguration": None,
}


def ensure_default_tenant_profile(conn) -> None:  # type: ignore[no-untyped-def]
    exists = conn.execute(
        select(t.tenant_profile.c.id).where(t.tenant_profile.c.is_default.is_(True))
    ).first()
    if exists is None:
        conn.execute(
            t.tenant_profile.insert().values(
                id=new_id(),
                created_time=now_ms(),
                name="Default",
                description="Default tenant profile",
                is_default=True,
                isolated_tb_rule_engine=False,
                profile_data=DEFAULT_PROFILE_DATA,
            )
        )


def profile_query() -> Select[Any]:
    return select(t.tenant_profile)


def get(c: Container, caller: Caller, profile_id: uuid.UUID) -> Any:
    with c.db.read() as conn:
        row = conn.execute(profile_query().where(t.tenant_profile.c.id == profile_id)).first()
    if row is None:
        raise NotFound(f"Tenant profile with id [{profile_id}] is not found")
    check(may_access_tenant_profile(caller, Operation.READ))
    return row


def get_default(c: Container, caller: Caller) -> Any:
    check(may_access_tenant_profile(caller, Operation.READ))
    with c.db.read() as conn:
        row = conn.execute(profile_query().where(t.tenant_profile.c.is_default.is_(True))).first()
    if row is None:
        raise NotFound("Requested item wasn't found!")
    return row
