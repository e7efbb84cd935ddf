"""ThingsBoard platform calls its web UI makes on every page load, answered for this slice:
system parameters after login, and the OAuth2 clients of the login page (none)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from twostep.services.administration import system_params
from twostep.web.deps import AnyUser, ContainerDep

router = APIRouter()


@router.get("/api/system/params")
def get_system_params(principal: AnyUser, container: ContainerDep) -> dict[str, Any]:
    return system_params.params(container, principal.authority, principal.tenant_id)


@router.post("/api/noauth/oauth2Clients")
def oauth2_clients() -> list[Any]:
    """The login page lists OAuth2 sign-in buttons; twostep signs in with a password and a second
    factor only, so there are none (whatever `platform` or `pkgName` asks)."""
    return []
