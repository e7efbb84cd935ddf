"""Admin settings endpoints (ThingsBoard's AdminController, spec platform §3). SYS_ADMIN only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from twostep.services import admin_settings
from twostep.web.deps import ContainerDep, SysAdmin

router = APIRouter()

JsonBody = Annotated[dict[str, Any], Body()]


@router.post("/api/admin/settings/testMail")
def test_mail(principal: SysAdmin, c: ContainerDep, body: JsonBody) -> Response:
    admin_settings.test_mail(c, principal, body)
    return Response(status_code=200)


@router.post("/api/admin/settings/testSms")
def test_sms(principal: SysAdmin, c: ContainerDep, body: JsonBody) -> Response:
    admin_settings.test_sms(c, principal, body)
    return Response(status_code=200)


@router.post("/api/admin/settings")
def save_settings(principal: SysAdmin, c: ContainerDep, body: JsonBody) -> dict[str, Any]:
    return admin_settings.save(c, body)


@router.get("/api/admin/settings/{key}")
def get_settings(key: str, principal: SysAdmin, c: ContainerDep) -> dict[str, Any]:
    return admin_settings.get(c, key)
