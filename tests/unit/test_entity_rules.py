"""User/tenant/customer validation messages (pure)."""

from __future__ import annotations

import uuid

import pytest

from twostep.domain import entity_rules as rules
from twostep.domain.authority import Authority
from twostep.domain.errors import BadRequest
from twostep.domain.ids import NULL_UUID

T, C = uuid.uuid4(), uuid.uuid4()


def _message(fn, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequest) as err:
        fn(**kwargs)
    return err.value.message


@pytest.mark.parametrize(
    ("email", "authority", "tenant", "customer", "message"),
    [
        (None, "SYS_ADMIN", NULL_UUID, NULL_UUID, "User email should be specified!"),
        ("", "SYS_ADMIN", NULL_UUID, NULL_UUID, "User email should be specified!"),
        ("a@b", "SYS_ADMIN", NULL_UUID, NULL_UUID, "Invalid email address format 'a@b'!"),
        ("a b@c.io", "SYS_ADMIN", NULL_UUID, NULL_UUID, "Invalid email address format 'a b@c.io'!"),
        ("a@c.io", None, NULL_UUID, NULL_UUID, "User authority isn't defined!"),
        ("a@c.io", "REFRESH_TOKEN", NULL_UUID, NULL_UUID, "Invalid authority 'REFRESH_TOKEN'"),
        (
            "a@c.io",
            "SYS_ADMIN",
            T,
            NULL_UUID,
            "System administrator can't be assigned neither to tenant nor to customer!",
        ),
        (
            "a@c.io",
            "SYS_ADMIN",
            NULL_UUID,
            C,
            "System administrator can't be assigned neither to tenant nor to customer!",
        ),
        (
            "a@c.io",
            "TENANT_ADMIN",
            NULL_UUID,
            NULL_UUID,
            "Tenant administrator should be assigned to tenant!",
        ),
        ("a@c.io", "TENANT_ADMIN", T, C, "Tenant administrator can't be assigned to customer!"),
        ("a@c.io", "CUSTOMER_USER", T, NULL_UUID, "Customer user should be assigned to customer!"),
    ],
)
def test_user_rules(email, authority, tenant, customer, message) -> None:  # type: ignore[no-untyped-def]
    assert (
        _message(
            rules.check_user,
            email=email,
            authority=authority,
            tenant_id=tenant,
            customer_id=customer,
        )
        == message
    )


def test_valid_users() -> None:
    assert rules.check_user(
        email="O'Brien+x@Example.COM", authority="TENANT_ADMIN", tenant_id=T, customer_id=NULL_UUID
    ) == ("O'Brien+x@Example.COM", Authority.TENANT_ADMIN)
    assert (
        rules.check_user(email="c@x.io", authority="CUSTOMER_USER", tenant_id=T, customer_id=C)[1]
        == Authority.CUSTOMER_USER
    )


def test_field_constraints_are_joined() -> None:
    message = _message(
        rules.check_fields,
        fields=[
            ("first name", "x" * 256, 255),
            ("last name", "<img src=x>", 255),
            ("address", "y" * 5000, None),
            ("phone", "nul\x00", 255),
            ("city", None, 255),
        ],
    )
    assert message == (
        "Validation error: first name length must be equal or less than 255, "
        "last name is malformed, phone is malformed"
    )
    rules.check_fields([("title", "a < b and 3<4", 255), ("title", "x" * 255, 255)])  # fine


def test_contact_and_title() -> None:
    contact = rules.Contact(email="bad")
    assert (
        _message(rules.check_contact, title="T", contact=contact, entity="Tenant")
        == "Invalid email address format 'bad'!"
    )
    assert (
        _message(rules.check_contact, title=" ", contact=rules.Contact(), entity="Customer")
        == "Customer title should be specified!"
    )
    assert rules.check_contact("T", rules.Contact(email=""), "Tenant") == "T"
    assert rules.Contact(city="Oslo").columns()["city"] == "Oslo"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"new_tenant": uuid.uuid4()}, "Can't update user tenant id!"),
        ({"new_authority": "CUSTOMER_USER"}, "Can't update user authority!"),
        ({"new_customer": uuid.uuid4()}, "Can't update user customer id!"),
    ],
)
def test_user_update_rules(change, message) -> None:  # type: ignore[no-untyped-def]
    same = {
        "old_tenant": T,
        "new_tenant": T,
        "old_authority": "TENANT_ADMIN",
        "new_authority": "TENANT_ADMIN",
        "old_customer": NULL_UUID,
        "new_customer": NULL_UUID,
    }
    rules.check_user_update(**same)
    assert _message(rules.check_user_update, **{**same, **change}) == message
