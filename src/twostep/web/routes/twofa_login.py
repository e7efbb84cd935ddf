"""/api/auth/2fa/*: the second step, reachable only with a restricted token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from twostep.domain.errors import BadRequest
from twostep.services import twofa_login
from twostep.web import schemas_twofa as s
from twostep.web.deps import ClientDep, ContainerDep, MfaConfiguration, PreVerification

router = APIRouter()


@router.get("/api/auth/2fa/providers")
def providers(principal: PreVerification, container: ContainerDep) -> list[dict[str, Any]]:
    return [s.provider_info_json(p) for p in twofa_login.providers(container, principal)]


@router.post("/api/auth/2fa/verification/send", response_class=Response)
def send_code(
    principal: PreVerification,
    container: ContainerDep,
    client: ClientDep,
    providerType: str = Query(...),  # noqa: N803
) -> None:
    twofa_login.send(container, principal, s.provider_param(providerType), client)


@router.post("/api/auth/2fa/verification/check")
async def check_code(
    request: Request,
    principal: PreVerification,
    container: ContainerDep,
    client: ClientDep,
    providerType: str = Query(...),  # noqa: N803
    verificationCode: str | None = Query(None),  # noqa: N803
) -> dict[str, str]:
    # One value per parameter: repeated parameters are refused, never silently picked.
    if (
        len(request.query_params.getlist("verificationCode")) > 1
        or len(request.query_params.getlist("providerType")) > 1
    ):
        raise BadRequest("Repeated query parameters are not allowed")
    # async, with the service in the threadpool: a plain `def` endpoint with a return annotation
    # costs a second hand-off (FastAPI validates its return value in the threadpool too).
    return await run_in_threadpool(
        twofa_login.check,
        container,
        principal,
        s.provider_param(providerType),
        verificationCode,
        client,
    )


@router.post("/api/auth/2fa/login")
def configuration_login(
    principal: MfaConfiguration, container: ContainerDep, client: ClientDep
) -> dict[str, str]:
    return twofa_login.config_login(container, principal, client)
