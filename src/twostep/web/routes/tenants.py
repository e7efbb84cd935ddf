"""Tenants (ThingsBoard's TenantController). Literal paths come before /api/tenant/{tenantId}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from twostep.domain.ids import parse_uuid
from twostep.services.directory import tenants
from twostep.services.directory.entity_store import parse_id_list
from twostep.storage import tables as t
from twostep.tbjson import tenant_info_json, tenant_json
from twostep.web.deps import Admin, ContainerDep, SysAdmin
from twostep.web.entity_deps import Listing, caller
from twostep.web.paging import PageLink, page_link
from twostep.web.routes import customers
from twostep.web.schemas_entities import TenantIn, parsed_body

router = APIRouter()

_t = t.tenant.c
_SORTABLE = {
    "createdTime": _t.created_time,
    "title": _t.title,
    "email": _t.email,
    "country": _t.country,
    "state": _t.state,
    "city": _t.city,
    "address": _t.address,
    "address2": _t.address2,
    "zip": _t.zip,
    "phone": _t.phone,
    "id": _t.id,
}
TENANTS = Listing(_SORTABLE, _t.id, _t.title, tenant_json)
TENANT_INFOS = Listing(
    {**_SORTABLE, "tenantProfileName": t.tenant_profile.c.name}, _t.id, _t.title, tenant_info_json
)
Link = Annotated[PageLink, Depends(page_link)]


@router.post("/api/tenant")
def save_tenant(
    p: SysAdmin, c: ContainerDep, body: Annotated[TenantIn, parsed_body(TenantIn)]
) -> dict[str, Any]:
    return tenant_json(tenants.save(c, caller(p), body.draft()))


# Served here, not in customers.py: this router is mounted first and would read "customers" as
# a {tenantId}.
router.add_api_route("/api/tenant/customers", customers.tenant_customer_by_title, methods=["GET"])


@router.get("/api/tenant/info/{tenantId}")
def tenant_info(p: Admin, c: ContainerDep, tenantId: str) -> dict[str, Any]:
    return tenant_info_json(tenants.get(c, caller(p), parse_uuid(tenantId), info=True))


@router.get("/api/tenant/{tenantId}")
def tenant(p: Admin, c: ContainerDep, tenantId: str) -> dict[str, Any]:
    return tenant_json(tenants.get(c, caller(p), parse_uuid(tenantId)))


@router.delete("/api/tenant/{tenantId}")
def delete_tenant(p: Admin, c: ContainerDep, tenantId: str) -> Response:
    tenants.delete_tenant(c, caller(p), parse_uuid(tenantId))
    return Response(status_code=200)


@router.get("/api/tenants")
def tenant_page(p: SysAdmin, c: ContainerDep, link: Link) -> dict[str, Any]:
    return TENANTS.page(c, tenants.tenant_query(), link)


@router.get("/api/tenantInfos")
def tenant_info_page(p: SysAdmin, c: ContainerDep, link: Link) -> dict[str, Any]:
    return TENANT_INFOS.page(c, tenants.tenant_info_query(), link)


@router.get("/api/tenants/list")
def tenants_by_ids(p: Admin, c: ContainerDep, tenantIds: str = Query(...)) -> list[dict[str, Any]]:
    return [tenant_json(r) for r in tenants.by_ids(c, caller(p), parse_id_list(tenantIds))]
