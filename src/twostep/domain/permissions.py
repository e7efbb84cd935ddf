"""Who may touch which user, tenant, customer or tenant profile (ThingsBoard's §2.5 checkers).

Pure: callers load the target first (so a missing entity is a 404 before any 403) and pass its
fields here. The endpoint's authority list is checked earlier, by the route dependency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from twostep.domain.authority import Authority
from twostep.domain.errors import PermissionDenied


class Operation(StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    DELETE = "DELETE"
    CREATE = "CREATE"


@dataclass(frozen=True)
class Caller:
    """The authenticated user acting, as its token says."""

    user_id: uuid.UUID
    authority: Authority
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    email: str


@dataclass(frozen=True)
class UserTarget:
    """The fields of a user the checker looks at; `user_id` is None for a user being created."""

    authority: str | None
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    user_id: uuid.UUID | None = None


def may_access_user(caller: Caller, op: Operation, target: UserTarget) -> bool:
    if caller.authority == Authority.SYS_ADMIN:
        # Sysadmins manage tenant admins and other sysadmins, never customer users.
        return target.authority != Authority.CUSTOMER_USER
    if caller.authority == Authority.TENANT_ADMIN:
        return target.tenant_id == caller.tenant_id and target.authority != Authority.SYS_ADMIN
    if caller.authority == Authority.CUSTOMER_USER:
        if target.authority != Authority.CUSTOMER_USER:
            return False
        if target.tenant_id != caller.tenant_id or target.customer_id != caller.customer_id:
            return False
        if op == Operation.READ:
            return True
        # WRITE/DELETE only on itself; CREATE never (a new user has no id to match).
        return target.user_id is not None and target.user_id == caller.user_id
    return False


_TENANT_ADMIN_ON_OWN_TENANT = frozenset({Operation.READ, Operation.DELETE})


def may_access_tenant(caller: Caller, op: Operation, tenant_id: uuid.UUID) -> bool:
    if caller.authority == Authority.SYS_ADMIN:
        return True
    if caller.authority == Authority.TENANT_ADMIN:
        return tenant_id == caller.tenant_id and op in _TENANT_ADMIN_ON_OWN_TENANT
    return False


def may_access_customer(
    caller: Caller, op: Operation, *, tenant_id: uuid.UUID, customer_id: uuid.UUID | None
) -> bool:
    """`customer_id` is None for a customer being created."""
    if caller.authority == Authority.TENANT_ADMIN:
        return tenant_id == caller.tenant_id
    if caller.authority == Authority.CUSTOMER_USER:
        return (
            op == Operation.READ
            and tenant_id == caller.tenant_id
            and customer_id is not None
            and customer_id == caller.customer_id
        )
    return False  # sysadmins have no customer checker


def may_access_tenant_profile(caller: Caller, op: Operation) -> bool:
    return caller.authority == Authority.SYS_ADMIN


def check(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied()
