"""Request-scoped dependencies: the container, the caller's identity, client details."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from twostep.bootstrap import Container
from twostep.domain.authority import RESTRICTED, Authority
from twostep.domain.errors import (
    AuthenticationFailed,
    PermissionDenied,
    ReauthenticationRequired,
    TokenExpired,
)
from twostep.domain.ids import now_ms
from twostep.services.values import Claims
from twostep.services.twofa import attempts


def get_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


async def _container(request: Request) -> Container:
    # async: FastAPI runs a plain `def` dependency in the threadpool, one hand-off each.
    return get_container(request)


ContainerDep = Annotated[Container, Depends(_container)]


@dataclass(frozen=True)
class ClientInfo:
    address: str
    user_agent: str | None


def client_info(request: Request) -> ClientInfo:
    """The client address: the socket peer, or the entry our own proxies appended (never a
    client-supplied X-Forwarded-For beyond the configured number of trusted hops)."""
    hops = get_container(request).config.trusted_proxy_hops
    address = request.client.host if request.client else "unknown"
    if hops > 0:
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    return ClientInfo(address=address[:64], user_agent=request.headers.get("user-agent"))


async def _client(request: Request) -> ClientInfo:
    return client_info(request)


ClientDep = Annotated[ClientInfo, Depends(_client)]


@dataclass(frozen=True)
class Principal:
    claims: Claims
    token: str

    @property
    def user_id(self) -> uuid.UUID:
        return self.claims.user_id

    @property
    def authority(self) -> Authority:
        return self.claims.authority

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.claims.tenant_id

    @property
    def customer_id(self) -> uuid.UUID:
        return self.claims.customer_id

    @property
    def email(self) -> str:
        return self.claims.email


def bearer_token(request: Request) -> str | None:
    for header in ("x-authorization", "authorization"):
        value = request.headers.get(header)
        if value:
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _restricted_token_live(container: Container, claims: Claims) -> bool:
    if claims.jti is None:
        return False
    with container.db.read() as conn:
        row = conn.execute(attempts.LIVENESS, attempts.token_params(claims)).first()
    return attempts.is_live(row, claims)


def _decoded(request: Request) -> Principal:
    """The bearer token, signature and expiry checked: no database."""
    token = bearer_token(request)
    if token is None:
        raise AuthenticationFailed("Authentication failed")
    return Principal(claims=get_container(request).tokens.decode(token), token=token)


def authenticate(request: Request) -> Principal:
    container = get_container(request)
    principal = _decoded(request)
    claims = principal.claims
    if claims.authority in RESTRICTED:
        if not _restricted_token_live(container, claims):
            raise TokenExpired()
    elif claims.authority == Authority.REFRESH_TOKEN:
        raise PermissionDenied()
    elif not container.tokens.session_is_live(claims.session_id):
        raise TokenExpired()
    return principal


def _allowed(request: Request, allowed: tuple[Authority, ...]) -> Principal:
    principal = authenticate(request)
    if principal.authority not in allowed:
        raise PermissionDenied()
    return principal


def require(*allowed: Authority):  # type: ignore[no-untyped-def]
    """A dependency that authenticates the caller and checks the endpoint's authority list."""

    def dependency(request: Request) -> Principal:
        return _allowed(request, allowed)

    return Depends(dependency)


def signed_in_recently(container: Container, principal: Principal) -> bool:
    # A configuration token comes straight from a password sign-in, lives minutes and dies when
    # 2FA is set up: it is itself the recent sign-in.
    if principal.authority == Authority.MFA_CONFIGURATION_TOKEN:
        return True
    at = container.tokens.authenticated_at(principal.claims.session_id)
    return at is not None and now_ms() - at <= container.config.reauth_window_s * 1000


def require_recent(*allowed: Authority, message: str | None = None):  # type: ignore[no-untyped-def]
    """As `require`, for changes of 2FA (and of who stays signed in): the session's sign-in must
    also be recent (ASVS 7.5.1), so a stolen or long-lived token cannot replace or remove the
    second factor. (An email change asks `signed_in_recently` itself: only the service knows
    whether the email changes.)"""

    def dependency(request: Request) -> Principal:
        principal = _allowed(request, allowed)
        if not signed_in_recently(get_container(request), principal):
            raise ReauthenticationRequired(message) if message else ReauthenticationRequired()
        return principal

    return Depends(dependency)


A = Authority
ANY_USER = (A.SYS_ADMIN, A.TENANT_ADMIN, A.CUSTOMER_USER)

SysAdmin = Annotated[Principal, require(A.SYS_ADMIN)]
Admin = Annotated[Principal, require(A.SYS_ADMIN, A.TENANT_ADMIN)]
TenantAdmin = Annotated[Principal, require(A.TENANT_ADMIN)]
TenantOrCustomer = Annotated[Principal, require(A.TENANT_ADMIN, A.CUSTOMER_USER)]
AnyUser = Annotated[Principal, require(*ANY_USER)]
AnyUserOrMfaConfig = Annotated[Principal, require(*ANY_USER, A.MFA_CONFIGURATION_TOKEN)]
# Changing 2FA: the same callers, with a recent sign-in.
RecentAdmin = Annotated[Principal, require_recent(A.SYS_ADMIN, A.TENANT_ADMIN)]
RecentAnyUser = Annotated[Principal, require_recent(*ANY_USER)]
RecentAnyUserOrMfaConfig = Annotated[
    Principal, require_recent(*ANY_USER, A.MFA_CONFIGURATION_TOKEN)
]
# Signing out everywhere else (ASVS 7.5.2): an old or stolen token must not shut its owner out.
RecentAnyUserForSessions = Annotated[
    Principal,
    require_recent(*ANY_USER, message="Sign in again to change which sessions stay signed in"),
]


async def pre_verification(request: Request) -> Principal:
    """The second-step endpoints: the token is decoded here, in the event loop, and the service
    checks its login attempt in the same read as the rest of its context (one database visit and
    one threadpool hand-off per request instead of three). Any other token gets the answer every
    route gives it."""
    principal = _decoded(request)
    if principal.authority != A.PRE_VERIFICATION_TOKEN:
        await run_in_threadpool(authenticate, request)
        raise PermissionDenied()
    return principal


# The attempt behind the token is NOT checked by this dependency: services that take it must
# (twofa_login._context does, for providers, send and check).
PreVerification = Annotated[Principal, Depends(pre_verification)]
MfaConfiguration = Annotated[Principal, require(A.MFA_CONFIGURATION_TOKEN)]
