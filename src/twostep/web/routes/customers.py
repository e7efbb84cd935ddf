"""Customers (ThingsBoard's CustomerController). TENANT_ADMIN manages them; a CUSTOMER_USER may
read its own. GET /api/tenant/customers is mounted by routes/tenants.py (route order)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse

from twostep.domain.ids import parse_uuid
from twostep.services.directory import customers
from twostep.services.directory.customers import NameConflict, NameConflictPolicy, UniquifyStrategy
from twostep.services.directory.entity_store import parse_id_list
from twostep.storage import tables as t
from twostep.tbjson import customer_json, customer_short_info
from twostep.web.deps import ContainerDep, TenantAdmin, TenantOrCustomer
from twostep.web.entity_deps import Listing, caller
from twostep.web.paging import PageLink, page_link
from twostep.web.schemas_entities import CustomerIn, parsed_body

router = APIRouter()

_c = t.customer.c
CUSTOMERS = Listing(
    {
        "createdTime": _c.created_time,
        "title": _c.title,
        "email": _c.email,
        "country": _c.country,
        "city": _c.city,
        "id": _c.id,
    },
    _c.id,
    _c.title,
    customer_json,
)
Link = Annotated[PageLink, Depends(page_link)]


@router.post("/api/customer")
def save_customer(
    p: TenantAdmin,
    c: ContainerDep,
    body: Annotated[CustomerIn, parsed_body(CustomerIn)],
    nameConflictPolicy: NameConflictPolicy = NameConflictPolicy.FAIL,
    uniquifySeparator: str = Query("_", max_length=16),
    uniquifyStrategy: UniquifyStrategy = UniquifyStrategy.RANDOM,
) -> dict[str, Any]:
    rule = NameConflict(nameConflictPolicy, uniquifySeparator, uniquifyStrategy)
    return customer_json(customers.save(c, caller(p), body.draft(), rule))


def tenant_customer_by_title(
    p: TenantAdmin, c: ContainerDep, customerTitle: str = Query(...)
) -> dict[str, Any]:
    """GET /api/tenant/customers?customerTitle="""
    return customer_json(customers.by_title(c, caller(p), customerTitle))


@router.get("/api/customers")
def customer_page(p: TenantAdmin, c: ContainerDep, link: Link) -> dict[str, Any]:
    return CUSTOMERS.page(c, customers.tenant_customers_query(caller(p)), link)


@router.get("/api/customers/list")
def customers_by_ids(
    p: TenantAdmin, c: ContainerDep, customerIds: str = Query(...)
) -> list[dict[str, Any]]:
    return [customer_json(r) for r in customers.by_ids(c, caller(p), parse_id_list(customerIds))]


@router.get("/api/customer/{customerId}")
def customer(p: TenantOrCustomer, c: ContainerDep, customerId: str) -> dict[str, Any]:
    return customer_json(customers.get(c, caller(p), parse_uuid(customerId)))


@router.get("/api/customer/{customerId}/shortInfo")
def customer_short(p: TenantOrCustomer, c: ContainerDep, customerId: str) -> dict[str, Any]:
    return customer_short_info(customers.get(c, caller(p), parse_uuid(customerId)))


@router.get("/api/customer/{customerId}/title", response_class=PlainTextResponse)
def customer_title(p: TenantOrCustomer, c: ContainerDep, customerId: str) -> str:
    return str(customers.get(c, caller(p), parse_uuid(customerId)).title)


@router.delete("/api/customer/{customerId}")
def delete_customer(p: TenantAdmin, c: ContainerDep, customerId: str) -> Response:
    customers.delete_customer(c, caller(p), parse_uuid(customerId))
    return Response(status_code=200)
