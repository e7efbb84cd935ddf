"""Tenants: save, read, list, delete with its cascade. ThingsBoard writes no audit entry for tenants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, delete, select

from twostep.bootstrap import Container
from twostep.domain.entity_rules import Contact, check_contact
from twostep.domain.errors import BadRequest, NotFound
from twostep.domain.ids import new_id, now_ms
from twostep.domain.permissions import Caller, Operation, check, may_access_tenant
from twostep.services.directory.entity_store import update_versioned
from twostep.services.directory.tenant_profiles import ensure_default_tenant_profile
from twostep.services.sessions.tokens import TokenService
from twostep.storage import tables as t

REGION = "Global"  # ThingsBoard overwrites the region on every save


@dataclass(frozen=True)
class TenantDraft:
    id: uuid.UUID | None
    title: str | None
    tenant_profile_id: uuid.UUID | None
    contact: Contact
    additional_info: dict[str, Any] | None
    version: int | None


def tenant_query() -> Select[Any]:
    return select(t.tenant)


def tenant_info_query() -> Select[Any]:
    return select(t.tenant, t.tenant_profile.c.name.label("tenant_profile_name")).join(
        t.tenant_profile, t.tenant_profile.c.id == t.tenant.c.tenant_profile_id
    )


def not_found(tenant_id: uuid.UUID) -> NotFound:
    return NotFound(f"Tenant with id [{tenant_id}] is not found")


def _row(conn: Connection, tenant_id: uuid.UUID) -> Any:
    return conn.execute(tenant_query().where(t.tenant.c.id == tenant_id)).first()


def exists(conn: Connection, tenant_id: uuid.UUID) -> bool:
    return conn.execute(select(t.tenant.c.id).where(t.tenant.c.id == tenant_id)).first() is not None


def _profile_id(conn: Connection, requested: uuid.UUID | None) -> uuid.UUID:
    profile = t.tenant_profile
    if requested is not None:
        if conn.execute(select(profile.c.id).where(profile.c.id == requested)).first() is None:
            raise BadRequest("Tenant is referencing to non-existent tenant profile!")
        return requested
    default = select(profile.c.id).where(profile.c.is_default.is_(True))
    found = conn.execute(default).scalar()
    if found is None:  # ThingsBoard creates it on the fly
        ensure_default_tenant_profile(conn)
        found = conn.execute(default).scalar_one()
    return found  # type: ignore[no-any-return]


def save(c: Container, caller: Caller, draft: TenantDraft) -> Any:
    op = Operation.CREATE if draft.id is None else Operation.WRITE
    check(may_access_tenant(caller, op, draft.id or caller.tenant_id))
    title = check_contact(draft.title, draft.contact, "Tenant")
    with c.db.transaction() as conn:
        values = {
            "title": title,
            "region": REGION,
            "tenant_profile_id": _profile_id(conn, draft.tenant_profile_id),
            **draft.contact.columns(),
            "additional_info": draft.additional_info,
        }
        if draft.id is None:
            tenant_id = new_id()
            conn.execute(
                t.tenant.insert().values(id=tenant_id, created_time=now_ms(), version=1, **values)
            )
        else:
            tenant_id = draft.id
            existing = _row(conn, tenant_id)
            if existing is None:
                raise BadRequest("Can't update non existing tenant!")
            update_versioned(conn, t.tenant, existing, draft.version, values, "Tenant")
        return _row(conn, tenant_id)


def get(c: Container, caller: Caller, tenant_id: uuid.UUID, *, info: bool = False) -> Any:
    query = tenant_info_query() if info else tenant_query()
    with c.db.read() as conn:
        row = conn.execute(query.where(t.tenant.c.id == tenant_id)).first()
    if row is None:
        raise not_found(tenant_id)
    check(may_access_tenant(caller, Operation.READ, tenant_id))
    return row


def by_ids(c: Container, caller: Caller, ids: list[uuid.UUID]) -> list[Any]:
    """Only the tenants the caller may read; unknown ids are skipped."""
    if not ids:
        return []
    with c.db.read() as conn:
        rows = conn.execute(tenant_query().where(t.tenant.c.id.in_(ids))).all()
    return [r for r in rows if may_access_tenant(caller, Operation.READ, r.id)]


def delete_tenant(c: Container, caller: Caller, tenant_id: uuid.UUID) -> None:
    """The tenant and everything in it: users (revoked; credentials, sessions and 2FA rows go with
    them by FK cascade), customers, the tenant's admin settings."""
    with c.db.transaction() as conn:
        if _row(conn, tenant_id) is None:
            raise not_found(tenant_id)
        check(may_access_tenant(caller, Operation.DELETE, tenant_id))
        users = conn.execute(select(t.user.c.id).where(t.user.c.tenant_id == tenant_id)).scalars()
        for user_id in users.all():
            TokenService.revoke_user(conn, user_id)
        conn.execute(delete(t.user).where(t.user.c.tenant_id == tenant_id))
        conn.execute(delete(t.customer).where(t.customer.c.tenant_id == tenant_id))
        conn.execute(delete(t.admin_settings).where(t.admin_settings.c.tenant_id == tenant_id))
        conn.execute(delete(t.tenant).where(t.tenant.c.id == tenant_id))
