"""Request bodies of the tenant, customer and user endpoints, with ThingsBoard's JSON names.

Unknown properties are ignored, as Spring does; read-only ones (`name`, `createdTime`) too. Ids must
carry both `entityType` and `id`, and the type must be the one the field holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)

from twostep.domain.entity_rules import Contact
from twostep.services.directory.customers import CustomerDraft
from twostep.services.directory.tenants import TenantDraft
from twostep.services.directory.users import UserDraft


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


M = TypeVar("M", bound=BaseModel)


def parsed_body(model: type[M]) -> Any:
    """A body dependency. Declared after the principal, so the caller is authenticated before the
    body is parsed (FastAPI's own body parameters are parsed first: a 400 before the 401)."""

    async def parse(request: Request) -> M:
        raw = await request.body()
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None

    return Depends(parse)


class EntityIdIn(_Body):
    entity_type: StrictStr = Field(alias="entityType")
    id: uuid.UUID


def _of_type(expected: str) -> Callable[[EntityIdIn], EntityIdIn]:
    def check(value: EntityIdIn) -> EntityIdIn:
        if value.entity_type.upper() != expected:
            raise ValueError(f"must be an id of type {expected}")
        return value

    return check


UserIdIn = Annotated[EntityIdIn, AfterValidator(_of_type("USER"))]
TenantIdIn = Annotated[EntityIdIn, AfterValidator(_of_type("TENANT"))]
CustomerIdIn = Annotated[EntityIdIn, AfterValidator(_of_type("CUSTOMER"))]
TenantProfileIdIn = Annotated[EntityIdIn, AfterValidator(_of_type("TENANT_PROFILE"))]

Text = StrictStr | None
JsonObject = dict[str, Any] | None


def _uuid(value: EntityIdIn | None) -> uuid.UUID | None:
    return value.id if value is not None else None


class _ContactBody(_Body):
    title: Text = None
    country: Text = None
    state: Text = None
    city: Text = None
    address: Text = None
    address2: Text = None
    zip: Text = None
    phone: Text = None
    email: Text = None
    additional_info: JsonObject = Field(None, alias="additionalInfo")
    version: StrictInt | None = None

    def contact(self) -> Contact:
        return Contact(
            country=self.country,
            state=self.state,
            city=self.city,
            address=self.address,
            address2=self.address2,
            zip=self.zip,
            phone=self.phone,
            email=self.email,
        )


class TenantIn(_ContactBody):
    id: TenantIdIn | None = None
    tenant_profile_id: TenantProfileIdIn | None = Field(None, alias="tenantProfileId")

    def draft(self) -> TenantDraft:
        return TenantDraft(
            id=_uuid(self.id),
            title=self.title,
            tenant_profile_id=_uuid(self.tenant_profile_id),
            contact=self.contact(),
            additional_info=self.additional_info,
            version=self.version,
        )


class CustomerIn(_ContactBody):
    id: CustomerIdIn | None = None
    external_id: CustomerIdIn | None = Field(None, alias="externalId")

    def draft(self) -> CustomerDraft:
        return CustomerDraft(
            id=_uuid(self.id),
            title=self.title,
            contact=self.contact(),
            additional_info=self.additional_info,
            external_id=_uuid(self.external_id),
            version=self.version,
        )


class UserIn(_Body):
    id: UserIdIn | None = None
    tenant_id: TenantIdIn | None = Field(None, alias="tenantId")
    customer_id: CustomerIdIn | None = Field(None, alias="customerId")
    email: Text = None
    authority: Literal["SYS_ADMIN", "TENANT_ADMIN", "CUSTOMER_USER"] | None = None
    first_name: Text = Field(None, alias="firstName")
    last_name: Text = Field(None, alias="lastName")
    phone: Text = None
    additional_info: JsonObject = Field(None, alias="additionalInfo")
    version: StrictInt | None = None

    def draft(self) -> UserDraft:
        return UserDraft(
            id=_uuid(self.id),
            tenant_id=_uuid(self.tenant_id),
            customer_id=_uuid(self.customer_id),
            email=self.email,
            authority=self.authority,
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            additional_info=self.additional_info,
            version=self.version,
        )
