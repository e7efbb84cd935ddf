"""Helpers shared by the delivery tests: settings bodies and saving them the way the API does."""

from __future__ import annotations

from typing import Any

from twostep.services.administration import admin_settings
from twostep.services.records import stored_settings

MAIL_FROM = "ThingsBoard <sysadmin@localhost.localdomain>"


def mail_settings(port: int, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "mailFrom": MAIL_FROM,
        "smtpProtocol": "smtp",
        "smtpHost": "127.0.0.1",
        "smtpPort": str(port),
        "timeout": "3000",
        "enableTls": False,
        "tlsVersion": "TLSv1.2",
        "username": "",
        "password": "",
        "enableProxy": False,
        "showChangePassword": False,
    }
    value.update(overrides)
    return value


def save_settings(container: Any, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """Save through the service (merge, validation, encryption), re-using the stored row's id."""
    with container.db.read() as conn:
        row = stored_settings.get_row(conn, key)
    body: dict[str, Any] = {"key": key, "jsonValue": value}
    if row is not None:
        body["id"] = {"entityType": "ADMIN_SETTINGS", "id": str(row.id)}
    return admin_settings.save(container, body)


def raw_settings(container: Any, key: str) -> Any:
    with container.db.read() as conn:
        row = stored_settings.get_row(conn, key)
    return None if row is None else row.json_value


def stored_id(client: Any, headers: dict[str, str], key: str) -> dict[str, Any]:
    """{"id": ...} of a stored settings row, {} when there is none: a fresh install already has
    `mail` (as ThingsBoard), so a client saves it by GET, change, POST with the id."""
    r = client.get(f"/api/admin/settings/{key}", headers=headers)
    return {"id": r.json()["id"]} if r.status_code == 200 else {}
