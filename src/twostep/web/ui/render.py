"""Jinja2 rendering of the UI pages and the page-level session lookup (read-only, never acts)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request as StarletteRequest

from twostep.domain.authority import Authority
from twostep.domain.errors import DomainError
from twostep.web.deps import Principal, authenticate
from twostep.web.ui import session as s

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FULL = (Authority.SYS_ADMIN, Authority.TENANT_ADMIN, Authority.CUSTOMER_USER)


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)


def session_principal(request: Request) -> Principal | None:
    """Who the session cookie belongs to, for choosing what page to show. Validation is the API's
    own (signature, expiry, revoked session, single-use restricted tokens)."""
    token = request.cookies.get(s.session_name(s.is_https(request.url.scheme)))
    if not token:
        return None
    headers = [
        (k, v)
        for k, v in request.scope["headers"]
        if k not in (b"authorization", b"x-authorization")
    ]
    headers.append((b"x-authorization", f"Bearer {token}".encode("latin-1")))
    probe = StarletteRequest({**request.scope, "headers": headers})
    try:
        return authenticate(probe)  # type: ignore[arg-type]
    except DomainError:
        return None
