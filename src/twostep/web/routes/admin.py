"""Admin settings endpoints (ThingsBoard's AdminController, spec platform §3, and the mail
templates of its MailConfigTemplateController). SYS_ADMIN only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from twostep.channels import mail_presets
from twostep.services.administration import admin_settings
from twostep.web.deps import Admin, ContainerDep, SysAdmin

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


@router.get("/api/admin/jwtSettings")
def get_jwt_settings(principal: SysAdmin, c: ContainerDep) -> dict[str, Any]:
    return admin_settings.jwt_settings(c)


@router.post("/api/admin/jwtSettings")
def save_jwt_settings(principal: SysAdmin, body: Any = Body(None)) -> None:
    admin_settings.refuse_jwt_change()


@router.get("/api/mail/config/template")
def mail_config_templates(principal: Admin) -> list[dict[str, Any]]:
    return mail_presets.PROVIDER_PRESETS


@router.get("/api/admin/mail/oauth2/loginProcessingUrl")
def mail_oauth2_login_processing_url(principal: SysAdmin) -> str:
    """ThingsBoard's path for OAuth2 mail consent; the page only shows it (OAuth2 mail itself is
    refused when saved)."""
    return "/api/admin/mail/oauth2/code"


@router.get("/api/admin/settings/{key}")
def get_settings(key: str, principal: SysAdmin, c: ContainerDep) -> dict[str, Any]:
    return admin_settings.get(c, key)
