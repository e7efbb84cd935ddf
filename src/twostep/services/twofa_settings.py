"""Platform 2FA settings: stored as admin settings key `twoFaSettings`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from twostep.bootstrap import Container
from twostep.domain.errors import BadRequest
from twostep.domain.twofa import platform
from twostep.domain.twofa.platform import PlatformSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.services import settings_store

KEY = "twoFaSettings"


def load(conn: Connection) -> PlatformSettings | None:
    return from_value(settings_store.get(conn, KEY))


def from_value(stored: dict[str, Any] | None) -> PlatformSettings | None:
    """The settings from their stored JSON (e.g. read with `settings_store.value_of(KEY)`)."""
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
        settings_store.put(conn, KEY, stored)
    return stored
