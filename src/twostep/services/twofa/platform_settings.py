"""Platform 2FA settings: stored as admin settings key `twoFaSettings`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from twostep.bootstrap import Container
from twostep.domain.errors import BadRequest
from twostep.domain.twofa import platform
from twostep.domain.twofa.platform import PlatformSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.services.records import stored_settings
from twostep.services.values import UserRecord
from twostep.storage import tables as t

KEY = "twoFaSettings"


def load(conn: Connection) -> PlatformSettings | None:
    return from_value(stored_settings.get(conn, KEY))


def from_value(stored: dict[str, Any] | None) -> PlatformSettings | None:
    """The settings from their stored JSON (e.g. read with `stored_settings.value_of(KEY)`)."""
    return platform.from_stored(dict(stored)) if stored is not None else None


def get_json(c: Container) -> dict[str, Any] | None:
    with c.db.read() as conn:
        settings = load(conn)
    return settings.to_json() if settings else None


def save(c: Container, body: Any) -> dict[str, Any]:
    settings = platform.parse(body)
    for provider in settings.provider_types:
        if provider == ProviderType.EMAIL and not c.delivery.mail_configured():
            raise BadRequest("Mail service is not set up")
        if provider == ProviderType.SMS and not c.delivery.sms_configured():
            raise BadRequest("SMS service is not configured")
    platform.check_enforcement(settings)
    stored = settings.to_json()
    with c.db.transaction() as conn:
        stored_settings.put(conn, KEY, stored)
    return stored


def is_enforced(conn: Connection, settings: PlatformSettings | None, user: UserRecord) -> bool:
    if settings is None or not settings.enforce or settings.users_filter is None:
        return False
    profile_id = None
    if settings.users_filter.tenant_profile_ids:
        profile_id = conn.execute(
            select(t.tenant.c.tenant_profile_id).where(t.tenant.c.id == user.tenant_id)
        ).scalar()
    return settings.users_filter.matches(
        authority=user.authority, tenant_id=user.tenant_id, tenant_profile_id=profile_id
    )
