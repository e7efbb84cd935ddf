"""Customers of a tenant: save (title unique per tenant), read, list, delete with their users."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, delete, select
from sqlalchemy.exc import IntegrityError

from twostep.bootstrap import Container
from twostep.domain.entity_rules import MAX_LENGTH, Contact, check_contact, check_fields
from twostep.domain.errors import BadRequest, NotFound
from twostep.domain.ids import new_id, now_ms
from twostep.domain.permissions import Caller, Operation, check, may_access_customer
from twostep.services.directory.entity_store import actor, update_versioned
from twostep.services.records import audit
from twostep.services.sessions.tokens import TokenService
from twostep.storage import tables as t
from twostep.tbjson import customer_json

PUBLIC_TITLE = "Public"
TITLE_TAKEN = "Customer with such title already exists!"


@dataclass(frozen=True)
class CustomerDraft:
    id: uuid.UUID | None
    title: str | None
    contact: Contact
    additional_info: dict[str, Any] | None
    external_id: uuid.UUID | None
    version: int | None


class NameConflictPolicy(StrEnum):
    FAIL = "FAIL"
    UNIQUIFY = "UNIQUIFY"


class UniquifyStrategy(StrEnum):
    RANDOM = "RANDOM"
    INCREMENTAL = "INCREMENTAL"


@dataclass(frozen=True)
class NameConflict:
    policy: NameConflictPolicy = NameConflictPolicy.FAIL
    separator: str = "_"
    strategy: UniquifyStrategy = UniquifyStrategy.RANDOM


def customer_query() -> Select[Any]:
    return select(t.customer)


def not_found(customer_id: uuid.UUID) -> NotFound:
    return NotFound(f"Customer with id [{customer_id}] is not found")


def _row(conn: Connection, customer_id: uuid.UUID) -> Any:
    return conn.execute(customer_query().where(t.customer.c.id == customer_id)).first()


def load(conn: Connection, caller: Caller, customer_id: uuid.UUID, op: Operation) -> Any:
    """The customer, 404 if missing, then 403 unless the caller may do `op` on it."""
    row = _row(conn, customer_id)
    if row is None:
        raise not_found(customer_id)
    check(may_access_customer(caller, op, tenant_id=row.tenant_id, customer_id=row.id))
    return row


def _title_taken(conn: Connection, tenant_id: uuid.UUID, title: str, own: uuid.UUID | None) -> bool:
    query = select(t.customer.c.id).where(
        t.customer.c.tenant_id == tenant_id, t.customer.c.title == title
    )
    if own is not None:
        query = query.where(t.customer.c.id != own)
    return conn.execute(query).first() is not None


def _free_title(
    conn: Connection, tenant_id: uuid.UUID, title: str, own: uuid.UUID | None, rule: NameConflict
) -> str:
    if not _title_taken(conn, tenant_id, title, own):
        return title
    if rule.policy == NameConflictPolicy.FAIL:
        raise BadRequest(TITLE_TAKEN)
    for n in range(1, 1000):
        suffix = str(n) if rule.strategy == UniquifyStrategy.INCREMENTAL else secrets.token_hex(3)
        candidate = f"{title}{rule.separator}{suffix}"
        check_fields([("title", candidate, MAX_LENGTH)])  # before the query: it may hold a NUL
        if not _title_taken(conn, tenant_id, candidate, own):
            return candidate
    raise BadRequest(TITLE_TAKEN)


def save(c: Container, caller: Caller, draft: CustomerDraft, rule: NameConflict) -> Any:
    """Create or update in the caller's tenant (a tenantId in the body is ignored)."""
    tenant_id = caller.tenant_id
    if draft.id is None:
        check(may_access_customer(caller, Operation.CREATE, tenant_id=tenant_id, customer_id=None))
    title = check_contact(draft.title, draft.contact, "Customer")
    if title == PUBLIC_TITLE:
        raise BadRequest("'Public' title for customer is system reserved!")
    try:
        with c.db.transaction() as conn:
            existing = None
            if draft.id is not None:
                existing = _row(conn, draft.id)
                if existing is None:
                    raise BadRequest("Can't update non existing customer!")
                check(
                    may_access_customer(
                        caller,
                        Operation.WRITE,
                        tenant_id=existing.tenant_id,
                        customer_id=existing.id,
                    )
                )
            values = {
                "title": _free_title(conn, tenant_id, title, draft.id, rule),
                **draft.contact.columns(),
                "additional_info": draft.additional_info,
                "external_id": draft.external_id,
            }
            if existing is None:
                customer_id = new_id()
                conn.execute(
                    t.customer.insert().values(
                        id=customer_id,
                        created_time=now_ms(),
                        tenant_id=tenant_id,
                        version=1,
                        **values,
                    )
                )
            else:
                customer_id = existing.id
                update_versioned(conn, t.customer, existing, draft.version, values, "Customer")
            row = _row(conn, customer_id)
            audit.record(
                conn,
                actor(caller),
                "ADDED" if existing is None else "UPDATED",
                entity_type="CUSTOMER",
                entity_id=row.id,
                entity_name=row.title,
                data={"entity": customer_json(row)},
                customer_id=row.id,
            )
            return row
    except IntegrityError:  # a concurrent save took the title between our check and insert
        raise BadRequest(TITLE_TAKEN) from None


def get(c: Container, caller: Caller, customer_id: uuid.UUID) -> Any:
    with c.db.read() as conn:
        return load(conn, caller, customer_id, Operation.READ)


def by_title(c: Container, caller: Caller, title: str) -> Any:
    row = None
    if "\x00" not in title:  # never stored (entity_rules refuses it); PostgreSQL can't compare it
        with c.db.read() as conn:
            row = conn.execute(
                customer_query().where(
                    t.customer.c.tenant_id == caller.tenant_id, t.customer.c.title == title
                )
            ).first()
    if row is None:
        raise NotFound(f"Customer with title [{title}] is not found")
    check(may_access_customer(caller, Operation.READ, tenant_id=row.tenant_id, customer_id=row.id))
    return row


def by_ids(c: Container, caller: Caller, ids: list[uuid.UUID]) -> list[Any]:
    if not ids:
        return []
    with c.db.read() as conn:
        rows = conn.execute(customer_query().where(t.customer.c.id.in_(ids))).all()
    return [
        r
        for r in rows
        if may_access_customer(caller, Operation.READ, tenant_id=r.tenant_id, customer_id=r.id)
    ]


def tenant_customers_query(caller: Caller) -> Select[Any]:
    return customer_query().where(t.customer.c.tenant_id == caller.tenant_id)


def delete_customer(c: Container, caller: Caller, customer_id: uuid.UUID) -> None:
    """The customer and its users (revoked; their credentials and 2FA rows go by FK cascade)."""
    with c.db.transaction() as conn:
        row = load(conn, caller, customer_id, Operation.DELETE)
        users = conn.execute(
            select(t.user.c.id).where(t.user.c.customer_id == customer_id)
        ).scalars()
        for user_id in users.all():
            TokenService.revoke_user(conn, user_id)
        conn.execute(delete(t.user).where(t.user.c.customer_id == customer_id))
        conn.execute(delete(t.customer).where(t.customer.c.id == customer_id))
        audit.record(
            conn,
            actor(caller),
            "DELETED",
            entity_type="CUSTOMER",
            entity_id=customer_id,
            entity_name=row.title,
            data={"entityId": str(customer_id)},
            customer_id=customer_id,
        )
