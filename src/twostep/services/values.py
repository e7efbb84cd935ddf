"""Values that cross the layers: where a request came from, and who a token is issued to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from twostep.domain.authority import Authority


@dataclass(frozen=True)
class Client:
    """Where a request came from (the socket peer or our proxy's entry, and its user agent)."""

    address: str
    user_agent: str | None


@dataclass(frozen=True)
class UserIdentity:
    """What a token says of its user."""

    id: uuid.UUID
    email: str
    authority: str
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    first_name: str | None = None
    last_name: str | None = None


class ClientSeen(Protocol):
    """Where a request came from, as any layer describes it (the web layer's ClientInfo, Client)."""

    @property
    def address(self) -> str: ...

    @property
    def user_agent(self) -> str | None: ...


class UserRecord(Protocol):
    """A user as the services read it: a user row joined with its credentials
    (records.user_rows.COLUMNS or SIGN_IN_COLUMNS)."""

    id: uuid.UUID
    email: str
    authority: str
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    first_name: str | None
    last_name: str | None
    enabled: bool
    password_hash: str | None
    password_set_time: int | None
    failed_login_attempts: int
    twofa_failed_attempts: int
    twofa_saved: bool | None  # ever saved a method (full reads only)


class StoredConfig(Protocol):
    """One of a user's second factors as stored (a twofa_config row)."""

    id: uuid.UUID
    provider_type: str
    use_by_default: bool
    position: int
    phone_number: str | None
    email: str | None
    totp_secret_enc: str | None
    totp_issuer: str | None
    last_used_step: int | None


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    email: str
    authority: Authority
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    session_id: uuid.UUID | None
    jti: uuid.UUID | None
    issued_at: int
    expires_at: int


class Principal(Protocol):
    """The caller behind a verified token (web.deps.Principal)."""

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def email(self) -> str: ...

    @property
    def authority(self) -> Authority: ...

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def customer_id(self) -> uuid.UUID: ...

    @property
    def claims(self) -> Claims: ...
