"""/ui/session/* and /ui/totp/generate: the few endpoints that keep tokens inside the HttpOnly cookie.

The middleware has already checked CSRF and same-origin for every /ui/* request and replaced any
Authorization header by the cookie's token, so the ordinary dependencies (PreVerification, AnyUser...)
identify the caller from the cookie. Errors are the API's ThingsBoard-shaped bodies.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from twostep.domain.authority import Authority
from twostep.domain.errors import AuthenticationFailed, BadRequest, DomainError
from twostep.domain.twofa.providers import ProviderType
from twostep.services import values
from twostep.services.signin import password_login, passwords, session_control
from twostep.services.twofa import enrollment, second_step
from twostep.web import schemas_twofa as schemas
from twostep.web.deps import (
    AnyUser,
    ContainerDep,
    MfaConfiguration,
    PreVerification,
    RecentAnyUserOrMfaConfig,
    authenticate,
    client_info,
)
from twostep.web.requests import base_url, required_strings
from twostep.web.ui import session as s

router = APIRouter(include_in_schema=False)
BodyArg = Annotated[Any, Body()]

HOME = "/account/security"
NEXT_BY_SCOPE = {
    Authority.PRE_VERIFICATION_TOKEN.value: "/login/mfa",
    Authority.MFA_CONFIGURATION_TOKEN.value: "/login/force-mfa",
}


def _client(request: Request) -> values.Client:
    info = client_info(request)
    return values.Client(address=info.address, user_agent=info.user_agent)


def _https(request: Request) -> bool:
    return s.is_https(request.url.scheme)


def _session_answer(request: Request, result: dict[str, Any]) -> JSONResponse:
    """Store the token in the cookie; the page only learns where to go next."""
    scope = result.get("scope")
    response = JSONResponse({"scope": scope, "next": NEXT_BY_SCOPE.get(scope or "", HOME)})
    s.set_session(response, result["token"], https=_https(request))
    return response


@router.post("/ui/session/login")
def login(request: Request, container: ContainerDep, body: BodyArg = None) -> JSONResponse:
    try:
        username, password = required_strings(body, "username", "password")
    except BadRequest:
        raise AuthenticationFailed("Authentication failed") from None
    result = password_login.login(
        container, username=username.strip(), password=password, client=_client(request)
    )
    return _session_answer(request, result)


@router.post("/ui/session/verify")
def verify(
    request: Request, principal: PreVerification, container: ContainerDep, body: BodyArg = None
) -> JSONResponse:
    provider, code = required_strings(body, "providerType", "verificationCode")
    pair = second_step.check(
        container, principal, schemas.provider_param(provider), code, _client(request)
    )
    return _session_answer(request, pair)


@router.post("/ui/session/config-login")
def config_login(
    request: Request, principal: MfaConfiguration, container: ContainerDep
) -> JSONResponse:
    return _session_answer(
        request, second_step.config_login(container, principal, _client(request))
    )


@router.post("/ui/session/activate")
def activate(request: Request, container: ContainerDep, body: BodyArg = None) -> JSONResponse:
    token, password = required_strings(body, "activateToken", "password")
    result = passwords.activate(
        container,
        token=token,
        password=password,
        send_mail=True,
        client=_client(request),
        base_url=base_url(request),
    )
    return _session_answer(request, result)


@router.post("/ui/session/change-password")
def change_password(
    request: Request, principal: AnyUser, container: ContainerDep, body: BodyArg = None
) -> JSONResponse:
    current, new = required_strings(body, "currentPassword", "newPassword")
    pair = passwords.change_password(
        container,
        user_id=principal.user_id,
        session_id=principal.claims.session_id,
        current=current,
        new=new,
        client=_client(request),
        base_url=base_url(request),
    )
    return _session_answer(request, pair)


@router.post("/ui/session/logout")
def logout(request: Request, container: ContainerDep) -> JSONResponse:
    try:
        principal = authenticate(request)
        if principal.authority in (
            Authority.SYS_ADMIN,
            Authority.TENANT_ADMIN,
            Authority.CUSTOMER_USER,
        ):
            session_control.logout(
                container,
                user_id=principal.user_id,
                session_id=principal.claims.session_id,
                client=_client(request),
            )
    except DomainError:
        pass  # no (valid) session: clearing the cookie is all there is to do
    response = JSONResponse({"next": "/login"})
    s.clear_session(response, https=_https(request))
    return response


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (no scripts, no style attributes)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=5,
        border=4,
        dark="#000",
        light="#fff",
        svgclass="qr-code",
        lineclass=None,
    )
    return buffer.getvalue().decode()


@router.post("/ui/totp/generate")
def totp_generate(principal: RecentAnyUserOrMfaConfig, container: ContainerDep) -> dict[str, Any]:
    generated = enrollment.generate(container, principal.claims, ProviderType.TOTP)
    config = schemas.generated_json(generated)
    auth_url = config["authUrl"]
    secret = auth_url.split("secret=", 1)[1].split("&", 1)[0]
    return {"config": config, "secret": secret, "qrSvg": qr_svg(auth_url)}
