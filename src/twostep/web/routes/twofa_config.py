"""/api/2fa/*: platform settings (sysadmin), account enrollment, and the administrators' reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from twostep.domain.ids import parse_uuid
from twostep.services.twofa import enrollment, platform_settings
from twostep.web import schemas_twofa as s
from twostep.web.deps import (
    Admin,
    AnyUserOrMfaConfig,
    ClientDep,
    ContainerDep,
    RecentAdmin,
    RecentAnyUser,
    RecentAnyUserOrMfaConfig,
    SysAdmin,
)

router = APIRouter()


def _maybe_empty(body: dict[str, Any] | None) -> Response:
    """ThingsBoard answers an empty body (read as null by its clients) when nothing is stored."""
    return Response(status_code=200) if body is None else JSONResponse(body)


@router.get("/api/2fa/settings")
def get_platform_settings(_: SysAdmin, container: ContainerDep) -> Response:
    return _maybe_empty(platform_settings.get_json(container))


@router.post("/api/2fa/settings")
def save_platform_settings(
    _: SysAdmin, container: ContainerDep, body: Any = Body(None)
) -> dict[str, Any]:
    return platform_settings.save(container, body)


@router.get("/api/2fa/providers")
def platform_provider_types(_: AnyUserOrMfaConfig, container: ContainerDep) -> list[str]:
    return enrollment.provider_types(container)


@router.get("/api/2fa/account/settings")
def account_settings(principal: AnyUserOrMfaConfig, container: ContainerDep) -> Response:
    return _maybe_empty(
        s.account_settings_json(enrollment.get_settings(container, principal.user_id))
    )


@router.post("/api/2fa/account/config/generate")
def generate(
    principal: RecentAnyUserOrMfaConfig,
    container: ContainerDep,
    providerType: str | None = Query(None),  # noqa: N803
) -> dict[str, Any]:
    generated = enrollment.generate(container, principal.claims, s.provider_param(providerType))
    return s.generated_json(generated)


@router.post("/api/2fa/account/config/submit", response_class=Response)
def submit(
    principal: RecentAnyUserOrMfaConfig,
    container: ContainerDep,
    client: ClientDep,
    body: Any = Body(None),
) -> None:
    enrollment.submit(container, principal.claims, s.parse_account_config(body), client)


@router.post("/api/2fa/account/config")
def verify_and_save(
    principal: RecentAnyUserOrMfaConfig,
    container: ContainerDep,
    client: ClientDep,
    verificationCode: str | None = Query(None),  # noqa: N803
    body: Any = Body(None),
) -> dict[str, Any] | None:
    view = enrollment.verify_and_save(
        container, principal.claims, s.parse_account_config(body), verificationCode, client
    )
    return s.account_settings_json(view)


@router.put("/api/2fa/account/config")
def update(
    principal: RecentAnyUser,
    container: ContainerDep,
    providerType: str | None = Query(None),
    body: Any = Body(None),  # noqa: N803
) -> dict[str, Any] | None:
    view = enrollment.update_default(
        container, principal.claims, s.provider_param(providerType), s.parse_update(body)
    )
    return s.account_settings_json(view)


@router.delete("/api/2fa/account/config")
def delete(
    principal: RecentAnyUser,
    container: ContainerDep,
    client: ClientDep,
    providerType: str | None = Query(None),  # noqa: N803
) -> dict[str, Any] | None:
    view = enrollment.delete_config(
        container, principal.claims, s.provider_param(providerType), client
    )
    return s.account_settings_json(view) or {"configs": {}}


# Parameterised paths last, so they never shadow /api/2fa/account/..., /settings, /providers.


@router.get("/api/2fa/{userId}/settings")
def admin_get_user_settings(principal: Admin, container: ContainerDep, userId: str) -> Response:  # noqa: N803
    view = enrollment.admin_get(container, principal, parse_uuid(userId))
    return _maybe_empty(s.account_settings_json(view))


@router.delete("/api/2fa/{userId}/config")
def admin_reset_user(
    principal: RecentAdmin,
    container: ContainerDep,
    client: ClientDep,
    userId: str,
    providerType: str | None = Query(None),  # noqa: N803
) -> dict[str, Any]:
    view = enrollment.admin_reset(
        container, principal, parse_uuid(userId), s.provider_param(providerType), client
    )
    return s.account_settings_json(view) or {"configs": {}}
