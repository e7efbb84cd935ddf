"""/api/auth/2fa/*: the second step, reachable only with a restricted token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from twostep.domain.errors import BadRequest
from twostep.services.twofa import second_step
from twostep.web import schemas_twofa as s
from twostep.web.deps import (
    ClientDep,
    ContainerDep,
    MfaConfiguration,
    PreVerification,
    client_info,
    get_container,
    pre_verification,
)

router = APIRouter()


@router.get("/api/auth/2fa/providers")
def providers(principal: PreVerification, container: ContainerDep) -> list[dict[str, Any]]:
    return [s.provider_info_json(p) for p in second_step.providers(container, principal)]


@router.post("/api/auth/2fa/verification/send", response_class=Response)
def send_code(
    principal: PreVerification,
    container: ContainerDep,
    client: ClientDep,
    providerType: str | None = Query(None),  # noqa: N803
) -> None:
    second_step.send(container, principal, s.provider_param(providerType), client)


_CHECK_PARAMETERS = [
    {"name": "providerType", "in": "query", "required": True, "schema": {"type": "string"}},
    {"name": "verificationCode", "in": "query", "required": False, "schema": {"type": "string"}},
]


@router.post(
    "/api/auth/2fa/verification/check",
    response_model=dict[str, str],
    openapi_extra={"parameters": _CHECK_PARAMETERS},
)
async def check_code(request: Request) -> Response:
    # The request is read here rather than declared as dependencies and query parameters: on the
    # busiest endpoint after the login, FastAPI's solving of them cost ~0.3 ms of a ~4 ms check
    # (docs/benchmarks.md). The answers are the same: the token first, then the parameters.
    principal = await pre_verification(request)
    query = request.query_params
    # One value per parameter: repeated parameters are refused, never silently picked.
    if len(query.getlist("verificationCode")) > 1 or len(query.getlist("providerType")) > 1:
        raise BadRequest("Repeated query parameters are not allowed")
    provider_type = query.get("providerType")
    pair = await run_in_threadpool(
        second_step.check,
        get_container(request),
        principal,
        s.provider_param(provider_type),
        query.get("verificationCode"),
        client_info(request),
    )
    return JSONResponse(pair)


@router.post("/api/auth/2fa/login")
def configuration_login(
    principal: MfaConfiguration, container: ContainerDep, client: ClientDep
) -> dict[str, str]:
    return second_step.config_login(container, principal, client)
