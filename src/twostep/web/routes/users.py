"""Users (ThingsBoard's UserController). Literal /api/user/<word> paths come before
/api/user/{userId}; this router is mounted before tenants and customers, so it also serves
/api/tenant/{tenantId}/users and /api/customer/.../users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse

from twostep.domain.errors import PermissionDenied
from twostep.domain.ids import now_ms, parse_uuid
from twostep.services.directory import user_accounts, users
from twostep.services.directory.entity_store import parse_id_list
from twostep.storage import tables as t
from twostep.tbjson import user_email_info, user_json
from twostep.web.deps import (
    Admin,
    AnyUser,
    ContainerDep,
    SysAdmin,
    TenantAdmin,
    TenantOrCustomer,
    signed_in_recently,
)
from twostep.web.entity_deps import BaseUrl, Listing, caller
from twostep.web.paging import PageLink, page_link
from twostep.web.schemas_entities import UserIn, parsed_body

router = APIRouter()

_u = t.user.c
_SORTABLE = {
    "createdTime": _u.created_time,
    "firstName": _u.first_name,
    "lastName": _u.last_name,
    "email": _u.email,
    "id": _u.id,
}
USERS = Listing(_SORTABLE, _u.id, _u.email, user_json)
USER_EMAIL_INFOS = Listing(_SORTABLE, _u.id, _u.email, user_email_info)
Link = Annotated[PageLink, Depends(page_link)]


@router.post("/api/user")
def save_user(
    p: AnyUser,
    c: ContainerDep,
    base: BaseUrl,
    body: Annotated[UserIn, parsed_body(UserIn)],
    sendActivationMail: bool = True,
) -> dict[str, Any]:
    row = users.save(
        c,
        caller(p),
        body.draft(),
        send_mail=sendActivationMail,
        base_url=base,
        signed_in_recently=lambda: signed_in_recently(c, p),
    )
    return user_json(row)


# -- literal /api/user/<word> paths first -------------------------------------------------------


@router.get("/api/user/users")
def user_page_alias(p: TenantOrCustomer, c: ContainerDep, link: Link) -> dict[str, Any]:
    """tb-rest-client 4.4 calls this (PE) path for get_users / get_user_users."""
    return USERS.page(c, users.users_query(caller(p)), link)


@router.get("/api/user/tokenAccessEnabled")
def token_access_enabled(p: Admin) -> bool:
    # "Login as user" would bypass the second factor: deliberately off.
    return False


@router.post("/api/user/sendActivationMail")
def send_activation_mail(
    p: Admin, c: ContainerDep, base: BaseUrl, email: str = Query(...)
) -> Response:
    user_accounts.send_activation_mail(c, caller(p), email, base)
    return Response(status_code=200)


# -- /api/user/{userId} -------------------------------------------------------------------------


@router.get("/api/user/{userId}")
def user(p: AnyUser, c: ContainerDep, userId: str) -> dict[str, Any]:
    row = users.get(c, caller(p), parse_uuid(userId))
    return {**user_json(row), "additionalInfo": users.enriched_info(row)}


@router.get("/api/user/{userId}/token")
def user_token(p: Admin, userId: str) -> None:
    raise PermissionDenied()  # tokenAccessEnabled is false (see above)


@router.get("/api/user/{userId}/activationLink", response_class=PlainTextResponse)
def activation_link(p: Admin, c: ContainerDep, base: BaseUrl, userId: str) -> str:
    return user_accounts.get_activation_link(c, caller(p), parse_uuid(userId), base).link


@router.get("/api/user/{userId}/activationLinkInfo")
def activation_link_info(p: Admin, c: ContainerDep, base: BaseUrl, userId: str) -> dict[str, Any]:
    info = user_accounts.get_activation_link(c, caller(p), parse_uuid(userId), base)
    return {"value": info.link, "ttlMs": max(0, info.expires_at - now_ms())}


@router.post("/api/user/{userId}/userCredentialsEnabled")
def credentials_enabled(
    p: Admin,
    c: ContainerDep,
    userId: str,
    userCredentialsEnabled: bool = True,
) -> Response:
    user_accounts.set_credentials_enabled(c, caller(p), parse_uuid(userId), userCredentialsEnabled)
    return Response(status_code=200)


@router.post("/api/user/{userId}/logoutAll")
def sign_out_everywhere(p: Admin, c: ContainerDep, userId: str) -> dict[str, int]:
    """twostep's own: end every session of a user one administers (ASVS 7.4.5)."""
    return {"endedSessions": user_accounts.sign_out_everywhere(c, caller(p), parse_uuid(userId))}


@router.delete("/api/user/{userId}")
def delete_user(p: Admin, c: ContainerDep, userId: str) -> Response:
    user_accounts.delete_user(c, caller(p), parse_uuid(userId))
    return Response(status_code=200)


# -- lists --------------------------------------------------------------------------------------


@router.get("/api/users")
def user_page(p: TenantOrCustomer, c: ContainerDep, link: Link) -> dict[str, Any]:
    return USERS.page(c, users.users_query(caller(p)), link)


@router.get("/api/users/list")
def users_by_ids(
    p: TenantOrCustomer, c: ContainerDep, userIds: str = Query(...)
) -> list[dict[str, Any]]:
    return [user_json(r) for r in users.by_ids(c, caller(p), parse_id_list(userIds))]


@router.get("/api/users/info")
def user_info_page(p: TenantOrCustomer, c: ContainerDep, link: Link) -> dict[str, Any]:
    return USER_EMAIL_INFOS.page(c, users.users_query(caller(p)), link)


@router.get("/api/customer/users")
def tenant_customer_users(p: TenantAdmin, c: ContainerDep, link: Link) -> dict[str, Any]:
    """tb-rest-client 4.4's get_all_customer_users (PE path): every customer user of the tenant."""
    return USERS.page(c, users.tenant_customer_users_query(caller(p)), link)


@router.get("/api/tenant/{tenantId}/users")
def tenant_admins(p: SysAdmin, c: ContainerDep, tenantId: str, link: Link) -> dict[str, Any]:
    return USERS.page(c, users.tenant_admins_query(parse_uuid(tenantId)), link)


@router.get("/api/customer/{customerId}/users")
def customer_users(p: TenantAdmin, c: ContainerDep, customerId: str, link: Link) -> dict[str, Any]:
    query = users.customer_users_query(c, caller(p), parse_uuid(customerId))
    return USERS.page(c, query, link)
