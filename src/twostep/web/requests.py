"""Reading raw request bodies and building absolute links."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from twostep.domain.errors import BadRequest


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Request body is missing")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Invalid request body: malformed JSON") from None


def required_strings(body: Any, *names: str) -> list[str]:
    """The named fields of a JSON object body, each a non-empty string, or a 400."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid request body")
    values = []
    for name in names:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise BadRequest(f"Validation error: {name} must not be blank")
        values.append(value)
    return values


def base_url(request: Request) -> str:
    """The base of links sent by email. Never the request's Host (or X-Forwarded-Host) header: an
    unauthenticated caller could otherwise mail a victim a reset link to the caller's own host.

    In order: TWOSTEP_BASE_URL; the `general` admin setting's baseUrl (ThingsBoard's key); the
    address of the socket that accepted the request."""
    container = request.app.state.container
    if container.config.base_url:
        return str(container.config.base_url).rstrip("/")
    from twostep.services.records import stored_settings

    with container.db.read() as conn:
        general = stored_settings.get(conn, "general") or {}
    configured = general.get("baseUrl")
    if isinstance(configured, str) and configured.startswith(("http://", "https://")):
        return configured.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 8080)
    host = f"[{host}]" if ":" in str(host) else host
    return f"http://{host}:{port}"
