"""Tenant profiles (read side; the default one is created by services/setup.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select

from twostep.bootstrap import Container
from twostep.domain.errors import NotFound
from twostep.domain.permissions import Caller, Operation, check, may_access_tenant_profile
from twostep.storage import tables as t


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
