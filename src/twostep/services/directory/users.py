"""Users: save (with the activation mail), read and list (account administration: user_accounts).

Permission checks (domain/permissions.py) follow the load, so a missing user is a 404 before a
foreign one is a 403. Mail goes out after the commit; a failed activation mail undoes the creation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, delete, select
from sqlalchemy.exc import IntegrityError

from twostep.bootstrap import Container
from twostep.domain import entity_rules as rules
from twostep.domain.authority import Authority
from twostep.domain.errors import (
    BadRequest,
    DeliveryFailed,
    NotFound,
    PermissionDenied,
    ReauthenticationRequired,
)
from twostep.domain.ids import NULL_UUID, new_id, now_ms
from twostep.domain.permissions import Caller, Operation, UserTarget, check, may_access_user
from twostep.services.directory import customers, tenants
from twostep.services.directory.entity_store import actor, update_versioned
from twostep.services.records import audit, user_rows
from twostep.services.signin import activation, credentials
from twostep.services.signin.credentials import create_disabled_credentials
from twostep.storage import tables as t
from twostep.tbjson import user_json

# Computed by GET /api/user/{id}; the UI posts them back, they are never stored.
COMPUTED_INFO = ("userCredentialsEnabled", "userActivated", "lastLoginTs")


@dataclass(frozen=True)
class UserDraft:
    id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    email: str | None
    authority: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    additional_info: dict[str, Any] | None
    version: int | None


def not_found(user_id: uuid.UUID) -> NotFound:
    return NotFound(f"User with id [{user_id}] is not found")


def target(row: Any) -> UserTarget:
    return UserTarget(row.authority, row.tenant_id, row.customer_id, row.id)


def load(conn: Connection, caller: Caller, user_id: uuid.UUID, op: Operation) -> Any:
    """The user with its credentials: 404 if missing, then 403 unless `op` is allowed."""
    row = user_rows.by_id(conn, user_id)
    if row is None:
        raise not_found(user_id)
    check(may_access_user(caller, op, target(row)))
    return row


# -- save ---------------------------------------------------------------------------------------


def _check_references(conn: Connection, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    if tenant_id != NULL_UUID and not tenants.exists(conn, tenant_id):
        raise BadRequest("User is referencing to non-existent tenant!")
    if customer_id != NULL_UUID:
        owner = conn.execute(
            select(t.customer.c.tenant_id).where(t.customer.c.id == customer_id)
        ).scalar()
        if owner is None:
            raise BadRequest("User is referencing to non-existent customer!")
        if owner != tenant_id:
            raise BadRequest("User can't be assigned to customer from different tenant!")


def _stored_info(info: dict[str, Any] | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {k: v for k, v in info.items() if k not in COMPUTED_INFO}


def save(
    c: Container,
    caller: Caller,
    draft: UserDraft,
    *,
    send_mail: bool,
    base_url: str,
    signed_in_recently: Callable[[], bool],
) -> Any:
    """Create (credentials disabled, activation token issued) or update. Returns the saved row.

    `signed_in_recently` says whether the caller's sign-in is recent: changing an email address
    (the login name, and where password-reset links go) needs one (ASVS 7.5.1), whether users
    change their own or an administrator changes someone else's."""
    # Only a sysadmin chooses the tenant; everyone else works in their own.
    if caller.authority == Authority.SYS_ADMIN:
        tenant_id = draft.tenant_id or NULL_UUID
    else:
        tenant_id = caller.tenant_id
    customer_id = draft.customer_id or NULL_UUID
    creating = draft.id is None
    try:
        with c.db.transaction() as conn:
            if creating:
                target = UserTarget(draft.authority, tenant_id, customer_id)
                check(may_access_user(caller, Operation.CREATE, target))
                existing = None
            else:
                existing = load(conn, caller, draft.id, Operation.WRITE)  # type: ignore[arg-type]
            email, role = _validate(conn, draft, tenant_id, customer_id, existing)
            if (
                existing is not None
                and email != existing.email
                and not signed_in_recently()
            ):
                raise ReauthenticationRequired("Sign in again to change an email address")
            values = {
                "email": email,
                "first_name": draft.first_name,
                "last_name": draft.last_name,
                "phone": draft.phone,
                "additional_info": _stored_info(draft.additional_info),
            }
            if existing is None:
                user_id = new_id()
                conn.execute(
                    t.user.insert().values(
                        id=user_id,
                        created_time=now_ms(),
                        tenant_id=tenant_id,
                        customer_id=customer_id,
                        authority=role.value,
                        version=1,
                        **values,
                    )
                )
                ttl = activation.ttl_hours(conn)
                token = create_disabled_credentials(c, conn, user_id, ttl)
            else:
                user_id = existing.id
                update_versioned(conn, t.user, existing, draft.version, values, "User")
                if email != existing.email:
                    credentials.email_changed(c, conn, user_id, activation.ttl_hours(conn))
            row = conn.execute(select(t.user).where(t.user.c.id == user_id)).one()
            if not (creating and send_mail):
                _audit_saved(conn, caller, row, "ADDED" if creating else "UPDATED")
    except IntegrityError:  # the email was taken between our check and the write
        raise BadRequest(f"User with email '{draft.email}' already present in database!") from None
    if creating and send_mail:
        _mail_or_undo(c, caller, row, activation.link(base_url, token), ttl)
    return row


def _validate(
    conn: Connection, draft: UserDraft, tenant_id: uuid.UUID, customer_id: uuid.UUID, existing: Any
) -> tuple[str, Authority]:
    """UserDataValidator's order: field constraints, own rules, references, update rules, email."""
    rules.check_fields(
        [
            ("email", draft.email, rules.MAX_LENGTH),
            ("first name", draft.first_name, rules.MAX_LENGTH),
            ("last name", draft.last_name, rules.MAX_LENGTH),
            ("phone", draft.phone, rules.MAX_LENGTH),
        ]
    )
    email, role = rules.check_user(
        email=draft.email, authority=draft.authority, tenant_id=tenant_id, customer_id=customer_id
    )
    _check_references(conn, tenant_id, customer_id)
    if existing is not None:
        rules.check_user_update(
            old_tenant=existing.tenant_id,
            new_tenant=tenant_id,
            old_authority=existing.authority,
            new_authority=role.value,
            old_customer=existing.customer_id,
            new_customer=customer_id,
        )
    taken = select(t.user.c.id).where(t.user.c.email == email)
    if existing is not None:
        taken = taken.where(t.user.c.id != existing.id)
    if conn.execute(taken).first() is not None:
        raise BadRequest(f"User with email '{email}' already present in database!")
    return email, role


def _audit_saved(
    conn: Connection, caller: Caller, row: Any, action: str, failure: str | None = None
) -> None:
    audit.record(
        conn,
        actor(caller),
        action,
        entity_type="USER",
        entity_id=NULL_UUID if failure else row.id,
        entity_name=row.email,
        data={"entity": user_json(row)},
        failure=failure,
        customer_id=row.customer_id,
    )


def _mail_or_undo(c: Container, caller: Caller, row: Any, link: str, ttl: int) -> None:
    """Send the activation mail; if it fails, the new user is removed again (ThingsBoard)."""
    try:
        activation.send(c, row.email, link, ttl)
    except DeliveryFailed:
        with c.db.transaction() as conn:
            conn.execute(delete(t.user).where(t.user.c.id == row.id))
            _audit_saved(conn, caller, row, "ADDED", failure=activation.MAIL_FAILED)
        raise
    with c.db.transaction() as conn:
        _audit_saved(conn, caller, row, "ADDED")


# -- read ---------------------------------------------------------------------------------------


def get(c: Container, caller: Caller, user_id: uuid.UUID) -> Any:
    """The user joined with its credentials (for the additionalInfo enrichment)."""
    with c.db.read() as conn:
        return load(conn, caller, user_id, Operation.READ)


def enriched_info(row: Any) -> dict[str, Any]:
    info = dict(row.additional_info) if isinstance(row.additional_info, dict) else {}
    info["userCredentialsEnabled"] = bool(row.enabled)
    info["userActivated"] = row.activate_token_hash is None
    info["lastLoginTs"] = row.last_login_ts
    return info


def users_query(caller: Caller) -> Select[Any]:
    """GET /api/users: a tenant admin sees its whole tenant, a customer user its customer's users."""
    query = select(t.user).where(t.user.c.tenant_id == caller.tenant_id)
    if caller.authority == Authority.CUSTOMER_USER:
        query = query.where(
            t.user.c.customer_id == caller.customer_id,
            t.user.c.authority == Authority.CUSTOMER_USER.value,
        )
    elif caller.authority != Authority.TENANT_ADMIN:
        raise PermissionDenied()
    return query


def tenant_customer_users_query(caller: Caller) -> Select[Any]:
    return select(t.user).where(
        t.user.c.tenant_id == caller.tenant_id, t.user.c.authority == Authority.CUSTOMER_USER.value
    )


def tenant_admins_query(tenant_id: uuid.UUID) -> Select[Any]:
    return select(t.user).where(
        t.user.c.tenant_id == tenant_id, t.user.c.authority == Authority.TENANT_ADMIN.value
    )


def customer_users_query(c: Container, caller: Caller, customer_id: uuid.UUID) -> Select[Any]:
    with c.db.read() as conn:
        customers.load(conn, caller, customer_id, Operation.READ)
    return select(t.user).where(
        t.user.c.customer_id == customer_id, t.user.c.authority == Authority.CUSTOMER_USER.value
    )


def by_ids(c: Container, caller: Caller, ids: list[uuid.UUID]) -> list[Any]:
    if not ids:
        return []
    with c.db.read() as conn:
        rows = conn.execute(select(t.user).where(t.user.c.id.in_(ids))).all()
    return [r for r in rows if may_access_user(caller, Operation.READ, target(r))]
