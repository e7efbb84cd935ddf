"""Validation of users, tenants and customers with ThingsBoard's messages (pure; the services add
the checks that need the database: existence, uniqueness)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from twostep.domain.authority import USER_AUTHORITIES, Authority
from twostep.domain.contacts import is_email
from twostep.domain.errors import BadRequest
from twostep.domain.ids import NULL_UUID

MAX_LENGTH = 255  # @Length default, and the width of the VARCHAR columns


# @NoXss stands in front of stored text that the UI renders; markup of any kind is refused.
# NUL is refused too: PostgreSQL text cannot hold it (it would be a 500, not a 400).
_MARKUP = re.compile(r"<[a-zA-Z!/?]|\x00")  # a tag starts right after "<"

# (label in messages, value, length limit or None)
Field = tuple[str, str | None, int | None]


def check_fields(fields: Iterable[Field]) -> None:
    """ThingsBoard's ConstraintValidator: every problem, joined, in one 400."""
    problems: list[str] = []
    for label, value, limit in fields:
        if value is None:
            continue
        if limit is not None and len(value) > limit:
            problems.append(f"{label} length must be equal or less than {limit}")
        if _MARKUP.search(value):
            problems.append(f"{label} is malformed")
    if problems:
        raise BadRequest("Validation error: " + ", ".join(problems))


def check_email_format(email: str) -> None:
    if not is_email(email):
        raise BadRequest(f"Invalid email address format '{email}'!")


@dataclass(frozen=True)
class Contact:
    """The ContactBased fields Tenant and Customer share (names are the column names)."""

    country: str | None = None
    state: str | None = None
    city: str | None = None
    address: str | None = None
    address2: str | None = None
    zip: str | None = None
    phone: str | None = None
    email: str | None = None

    def fields(self) -> list[Field]:
        return [
            ("country", self.country, MAX_LENGTH),
            ("state", self.state, MAX_LENGTH),
            ("city", self.city, MAX_LENGTH),
            ("address", self.address, None),
            ("address2", self.address2, None),
            ("zip or postal code", self.zip, MAX_LENGTH),
            ("phone", self.phone, MAX_LENGTH),
            ("email", self.email, MAX_LENGTH),
        ]

    def columns(self) -> dict[str, str | None]:
        return asdict(self)


def check_contact(title: str | None, contact: Contact, entity: str) -> str:
    """Field constraints, then the title, then the email format. Returns the title."""
    check_fields([("title", title, MAX_LENGTH), *contact.fields()])
    checked = check_title(title, entity)
    if contact.email:
        check_email_format(contact.email)
    return checked


def check_title(title: str | None, entity: str) -> str:
    if title is None or not title.strip():
        raise BadRequest(f"{entity} title should be specified!")
    return title


def check_user(
    *, email: str | None, authority: str | None, tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> tuple[str, Authority]:
    """UserDataValidator's own rules, in its order. Returns the email and the authority."""
    if email is None or not email.strip():
        raise BadRequest("User email should be specified!")
    check_email_format(email)
    if authority is None:
        raise BadRequest("User authority isn't defined!")
    role = next((a for a in USER_AUTHORITIES if a.value == authority), None)
    if role is None:
        raise BadRequest(f"Invalid authority '{authority}'")
    has_tenant = tenant_id != NULL_UUID
    has_customer = customer_id != NULL_UUID
    if role == Authority.SYS_ADMIN and (has_tenant or has_customer):
        raise BadRequest(
            "System administrator can't be assigned neither to tenant nor to customer!"
        )
    if role == Authority.TENANT_ADMIN:
        if not has_tenant:
            raise BadRequest("Tenant administrator should be assigned to tenant!")
        if has_customer:
            raise BadRequest("Tenant administrator can't be assigned to customer!")
    if role == Authority.CUSTOMER_USER and not has_customer:
        raise BadRequest("Customer user should be assigned to customer!")
    return email, role


def check_user_update(
    *,
    old_tenant: uuid.UUID,
    new_tenant: uuid.UUID,
    old_authority: str,
    new_authority: str,
    old_customer: uuid.UUID,
    new_customer: uuid.UUID,
) -> None:
    if old_tenant != new_tenant:
        raise BadRequest("Can't update user tenant id!")
    if old_authority != new_authority:
        raise BadRequest("Can't update user authority!")
    if old_customer != new_customer:
        raise BadRequest("Can't update user customer id!")
