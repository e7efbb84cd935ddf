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


def base_url(request: Request) -> str:
    """Links sent by email use the configured base URL; without one, the request's own origin."""
    configured = request.app.state.container.config.base_url
    if configured:
        return configured.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"
