"""Tenant profiles, read-only, SYS_ADMIN only (ThingsBoard's TenantProfileController)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from twostep.domain.ids import parse_uuid
from twostep.services.directory import tenant_profiles
from twostep.storage import tables as t
from twostep.tbjson import entity_info, tenant_profile_json
from twostep.web.deps import ContainerDep, SysAdmin
from twostep.web.entity_deps import Listing, caller
from twostep.web.paging import PageLink, page_link

router = APIRouter()

_p = t.tenant_profile.c
_SORTABLE = {
    "createdTime": _p.created_time,
    "name": _p.name,
    "description": _p.description,
    "isDefault": _p.is_default,
    "id": _p.id,
}


def _info(row: Any) -> dict[str, Any]:
    return entity_info("TENANT_PROFILE", row)


PROFILES = Listing(_SORTABLE, _p.id, _p.name, tenant_profile_json)
PROFILE_INFOS = Listing(_SORTABLE, _p.id, _p.name, _info)
Link = Annotated[PageLink, Depends(page_link)]


@router.get("/api/tenantProfileInfo/default")
def default_profile_info(p: SysAdmin, c: ContainerDep) -> dict[str, Any]:
    return _info(tenant_profiles.get_default(c, caller(p)))


@router.get("/api/tenantProfileInfo/{tenantProfileId}")
def profile_info(p: SysAdmin, c: ContainerDep, tenantProfileId: str) -> dict[str, Any]:
    return _info(tenant_profiles.get(c, caller(p), parse_uuid(tenantProfileId)))


@router.get("/api/tenantProfile/{tenantProfileId}")
def profile(p: SysAdmin, c: ContainerDep, tenantProfileId: str) -> dict[str, Any]:
    return tenant_profile_json(tenant_profiles.get(c, caller(p), parse_uuid(tenantProfileId)))


@router.get("/api/tenantProfiles")
def profiles(p: SysAdmin, c: ContainerDep, link: Link) -> dict[str, Any]:
    return PROFILES.page(c, tenant_profiles.profile_query(), link)


@router.get("/api/tenantProfileInfos")
def profile_infos(p: SysAdmin, c: ContainerDep, link: Link) -> dict[str, Any]:
    return PROFILE_INFOS.page(c, tenant_profiles.profile_query(), link)
