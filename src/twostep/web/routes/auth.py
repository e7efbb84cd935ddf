"""/api/auth/* and /api/noauth/*: login, refresh, logout, current user, passwords, activation."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse

from twostep.domain.contacts import is_email
from twostep.domain.errors import AuthenticationFailed, BadRequest
from twostep.domain.ids import parse_uuid
from twostep.domain.useragent import device_name
from twostep.services import values
from twostep.services.records import stored_settings, user_rows
from twostep.services.signin import password_login, passwords, session_control
from twostep.tbjson import user_json
from twostep.web.deps import (
    AnyUser,
    ClientDep,
    ContainerDep,
    RecentAnyUserForSessions,
    client_info,
)
from twostep.web.requests import base_url, json_body, required_strings

router = APIRouter()

_NOT_SUPPORTED = "Authentication method not supported"


def _client(info: Any) -> values.Client:
    return values.Client(address=info.address, user_agent=info.user_agent)


async def _login_body(request: Request, *fields: str) -> dict[str, Any]:
    """Unparseable bodies and missing fields: 401 'Authentication failed', as ThingsBoard answers."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise AuthenticationFailed("Authentication failed") from None
    if not isinstance(body, dict) or any(
        not isinstance(body.get(f), str) or not body.get(f) for f in fields
    ):
        raise AuthenticationFailed("Authentication failed")
    return body


@router.post("/api/auth/login", response_model=dict[str, Any])
async def login(request: Request, container: ContainerDep) -> Response:
    body = await _login_body(request, "username", "password")
    if not body["username"].strip():
        raise AuthenticationFailed("Authentication failed")
    client = _client(client_info(request))
    # Answered as it is: FastAPI's validation of a returned dict is a cost on every login.
    return JSONResponse(
        await run_in_threadpool(
            password_login.login,
            container,
            username=body["username"],
            password=body["password"],
            client=client,
        )
    )


@router.api_route(
    "/api/auth/login", methods=["GET", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
@router.api_route(
    "/api/auth/token", methods=["GET", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
def method_not_supported() -> None:
    raise AuthenticationFailed(_NOT_SUPPORTED)


@router.post("/api/auth/token")
async def refresh(request: Request, container: ContainerDep) -> dict[str, str]:
    body = await _login_body(request, "refreshToken")
    return await run_in_threadpool(session_control.refresh, container, body["refreshToken"])


@router.post("/api/auth/logout", response_class=Response)
def logout(principal: AnyUser, container: ContainerDep, client: ClientDep) -> None:
    session_control.logout(
        container,
        user_id=principal.user_id,
        session_id=principal.claims.session_id,
        client=_client(client),
    )


@router.post("/api/auth/logoutOthers")
def logout_others(
    principal: RecentAnyUserForSessions, container: ContainerDep, client: ClientDep
) -> dict[str, int]:
    """twostep's own: sign out every other session of the caller (not in ThingsBoard)."""
    ended = session_control.logout_others(
        container,
        user_id=principal.user_id,
        session_id=principal.claims.session_id,
        client=_client(client),
    )
    return {"endedSessions": ended}


@router.get("/api/auth/sessions")
def sign_ins(principal: AnyUser, container: ContainerDep) -> list[dict[str, Any]]:
    """twostep's own: where the caller is signed in (ASVS 7.5.2; not in ThingsBoard)."""
    found = session_control.sign_ins(
        container, user_id=principal.user_id, session_id=principal.claims.session_id
    )
    return [
        {
            "id": s.id,
            "signedInTime": s.signed_in_time,
            "lastRefreshTime": s.last_refresh_time,
            "ip": s.ip,
            "userAgent": s.user_agent,
            "device": device_name(s.user_agent),
            "current": s.current,
        }
        for s in found
    ]


@router.delete("/api/auth/sessions/{signInId}")
def end_sign_in(
    principal: RecentAnyUserForSessions, container: ContainerDep, client: ClientDep, signInId: str
) -> dict[str, int]:
    """twostep's own: sign out one sign-in of the caller (another device, or a stranger)."""
    ended = session_control.end_sign_in(
        container,
        user_id=principal.user_id,
        sign_in=parse_uuid(signInId),
        client=_client(client),
    )
    return {"endedSessions": ended}


@router.get("/api/auth/user")
def current_user(principal: AnyUser, container: ContainerDep) -> dict[str, Any]:
    with container.db.read() as conn:
        row = user_rows.by_id(conn, principal.user_id)
    if row is None:
        raise AuthenticationFailed("You aren't authorized to perform this operation!")
    return user_json(row)


@router.post("/api/auth/changePassword")
def change_password(
    request: Request, principal: AnyUser, container: ContainerDep, body: Any = Body(None)
) -> dict[str, str]:
    current, new = required_strings(body, "currentPassword", "newPassword")
    return passwords.change_password(
        container,
        user_id=principal.user_id,
        session_id=principal.claims.session_id,
        current=current,
        new=new,
        client=_client(client_info(request)),
        base_url=base_url(request),
    )


@router.get("/api/noauth/userPasswordPolicy")
def password_policy(container: ContainerDep) -> dict[str, Any]:
    with container.db.read() as conn:
        return dict(stored_settings.security_settings(conn)["passwordPolicy"])


@router.get("/api/noauth/activate")
def check_activate_token(container: ContainerDep, activateToken: str = Query(...)) -> Response:  # noqa: N803
    state = passwords.check_activate_token(container, activateToken)
    if state == "unknown":
        return Response(status_code=409)
    if state == "expired":
        return RedirectResponse("/activationLinkExpired", status_code=303)
    return RedirectResponse(f"/login/createPassword?activateToken={activateToken}", status_code=303)


@router.post("/api/noauth/activate")
def activate(
    request: Request,
    container: ContainerDep,
    client: ClientDep,
    sendActivationMail: bool = Query(True),  # noqa: N803
    body: Any = Body(None),
) -> dict[str, Any]:
    token, password = required_strings(body, "activateToken", "password")
    return passwords.activate(
        container,
        token=token,
        password=password,
        send_mail=sendActivationMail,
        client=_client(client),
        base_url=base_url(request),
    )


@router.post("/api/noauth/resetPasswordByEmail", response_class=Response)
async def reset_password_by_email(request: Request, container: ContainerDep) -> None:
    """Always 200 with an empty body, whatever the email. A well-formed address is queued and
    nothing else is done here: no lookup, no mail, the same work for every address, so neither
    this answer nor the next request's tells whether the account exists (the queue's worker looks
    the address up and mails, off any request)."""
    try:
        body = await json_body(request)
    except BadRequest:
        return None
    email = body.get("email") if isinstance(body, dict) else None
    if is_email(email):

        def queue_request() -> None:
            passwords.request_password_reset(container, email=email, base_url=base_url(request))

        await run_in_threadpool(queue_request)
    return None


@router.get("/api/noauth/resetPassword")
def check_reset_token(container: ContainerDep, resetToken: str = Query(...)) -> Response:  # noqa: N803
    state = passwords.check_reset_token(container, resetToken)
    if state == "unknown":
        return Response(status_code=409)
    if state == "expired":
        return RedirectResponse("/passwordResetLinkExpired", status_code=303)
    return RedirectResponse(f"/login/resetPassword?resetToken={resetToken}", status_code=303)


@router.post("/api/noauth/resetPassword", response_class=Response)
def reset_password(request: Request, container: ContainerDep, body: Any = Body(None)) -> None:
    token, password = required_strings(body, "resetToken", "password")
    passwords.reset_password(container, token=token, password=password, base_url=base_url(request))
