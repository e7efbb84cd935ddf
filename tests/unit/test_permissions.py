"""The §2.5 permission table, cell by cell (pure: no database, no HTTP)."""

from __future__ import annotations

import uuid

import pytest

from twostep.domain.authority import Authority as A
from twostep.domain.errors import PermissionDenied
from twostep.domain.ids import NULL_UUID
from twostep.domain.permissions import (
    Caller,
    Operation,
    UserTarget,
    check,
    may_access_customer,
    may_access_tenant,
    may_access_tenant_profile,
    may_access_user,
)

ALL_OPS = list(Operation)
T1, T2 = uuid.uuid4(), uuid.uuid4()
C1, C2 = uuid.uuid4(), uuid.uuid4()

SYS = Caller(uuid.uuid4(), A.SYS_ADMIN, NULL_UUID, NULL_UUID, "sys@x.io")
TA1 = Caller(uuid.uuid4(), A.TENANT_ADMIN, T1, NULL_UUID, "ta1@x.io")
CU1 = Caller(uuid.uuid4(), A.CUSTOMER_USER, T1, C1, "cu1@x.io")


def sysadmin(user_id: uuid.UUID | None = None) -> UserTarget:
    return UserTarget(A.SYS_ADMIN, NULL_UUID, NULL_UUID, user_id or uuid.uuid4())


def tenant_admin(tenant: uuid.UUID = T1, user_id: uuid.UUID | None = None) -> UserTarget:
    return UserTarget(A.TENANT_ADMIN, tenant, NULL_UUID, user_id or uuid.uuid4())


def customer_user(
    tenant: uuid.UUID = T1, customer: uuid.UUID = C1, user_id: uuid.UUID | None = None
) -> UserTarget:
    return UserTarget(A.CUSTOMER_USER, tenant, customer, user_id or uuid.uuid4())


# -- USER ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ALL_OPS)
def test_sysadmin_on_users(op: Operation) -> None:
    assert may_access_user(SYS, op, sysadmin())
    assert may_access_user(SYS, op, sysadmin(SYS.user_id))
    assert may_access_user(SYS, op, tenant_admin(T2))
    assert not may_access_user(SYS, op, customer_user())


@pytest.mark.parametrize("op", ALL_OPS)
def test_tenant_admin_on_users(op: Operation) -> None:
    assert may_access_user(TA1, op, tenant_admin(T1))
    assert may_access_user(TA1, op, customer_user(T1, C2))
    assert not may_access_user(TA1, op, tenant_admin(T2))
    assert not may_access_user(TA1, op, customer_user(T2, C2))
    assert not may_access_user(TA1, op, sysadmin())


def test_customer_user_on_users() -> None:
    peer = customer_user(T1, C1)
    me = customer_user(T1, C1, CU1.user_id)
    assert may_access_user(CU1, Operation.READ, peer)
    for op in (Operation.WRITE, Operation.DELETE):
        assert may_access_user(CU1, op, me)
        assert not may_access_user(CU1, op, peer)
    for op in ALL_OPS:
        assert not may_access_user(CU1, op, customer_user(T1, C2))
        assert not may_access_user(CU1, op, tenant_admin(T1))
        assert not may_access_user(CU1, op, sysadmin())
    # CREATE never: the new user has no id yet, so it can never be "itself"
    assert not may_access_user(CU1, Operation.CREATE, UserTarget(A.CUSTOMER_USER, T1, C1, None))


def test_creation_bodies_without_authority_pass_to_validation() -> None:
    # A body with no authority is not a permission problem: validation answers it (400).
    assert may_access_user(SYS, Operation.CREATE, UserTarget(None, NULL_UUID, NULL_UUID))
    assert may_access_user(TA1, Operation.CREATE, UserTarget(None, T1, NULL_UUID))


@pytest.mark.parametrize(
    "authority", [A.REFRESH_TOKEN, A.PRE_VERIFICATION_TOKEN, A.MFA_CONFIGURATION_TOKEN]
)
def test_restricted_tokens_may_touch_nothing(authority: A) -> None:
    caller = Caller(uuid.uuid4(), authority, T1, C1, "x@x.io")
    for op in ALL_OPS:
        assert not may_access_user(caller, op, customer_user(T1, C1, caller.user_id))
        assert not may_access_tenant(caller, op, T1)
        assert not may_access_customer(caller, op, tenant_id=T1, customer_id=C1)
        assert not may_access_tenant_profile(caller, op)


# -- TENANT, CUSTOMER, TENANT_PROFILE -----------------------------------------------------------


@pytest.mark.parametrize("op", ALL_OPS)
def test_tenants(op: Operation) -> None:
    assert may_access_tenant(SYS, op, T2)
    assert may_access_tenant(TA1, op, T1) == (op in (Operation.READ, Operation.DELETE))
    assert not may_access_tenant(TA1, op, T2)
    assert not may_access_tenant(CU1, op, T1)


@pytest.mark.parametrize("op", ALL_OPS)
def test_customers(op: Operation) -> None:
    assert not may_access_customer(SYS, op, tenant_id=T1, customer_id=C1)
    assert may_access_customer(TA1, op, tenant_id=T1, customer_id=C2)
    assert not may_access_customer(TA1, op, tenant_id=T2, customer_id=C2)
    assert may_access_customer(CU1, op, tenant_id=T1, customer_id=C1) == (op == Operation.READ)
    assert not may_access_customer(CU1, op, tenant_id=T1, customer_id=C2)
    assert not may_access_customer(CU1, op, tenant_id=T2, customer_id=C1)


def test_tenant_admin_may_create_customers_in_its_tenant() -> None:
    assert may_access_customer(TA1, Operation.CREATE, tenant_id=T1, customer_id=None)
    assert not may_access_customer(CU1, Operation.CREATE, tenant_id=T1, customer_id=None)


@pytest.mark.parametrize("op", ALL_OPS)
def test_tenant_profiles(op: Operation) -> None:
    assert may_access_tenant_profile(SYS, op)
    assert not may_access_tenant_profile(TA1, op)
    assert not may_access_tenant_profile(CU1, op)


def test_check_raises_the_standard_message() -> None:
    check(True)
    with pytest.raises(PermissionDenied) as denied:
        check(False)
    assert denied.value.message == "You don't have permission to perform this operation!"
