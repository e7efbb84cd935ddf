"""Trailing-slash redirects whose Location is a path, never a host taken from the request.

Starlette's own (`redirect_slashes`) answers `GET /login/` with `Location: http://<Host>/login`,
the host read from the request's Host header: through a cache or a proxy that passes any Host on,
`Host: evil.example` becomes a redirect of other people to the attacker. A relative reference
(RFC 9110 §10.2.2) keeps the browser on the host it asked, whatever the request said, so no
allowed-host list is needed. Every other redirect of twostep is a literal path already.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import RedirectResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send


def _other_spelling(path: str) -> str | None:
    """The path with its trailing slashes removed, or with one added (Starlette's rule)."""
    if path == "/":
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    # '//host' or '/\\host' would be read as another host by browsers: never redirect there.
    if not other.startswith("/") or other[1:2] in ("/", "\\"):
        return None
    return other


def _location(path: str, query: bytes) -> str:
    # As Starlette escapes a path for a URL; RedirectResponse percent-encodes the rest.
    path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return path + ("?" + query.decode("latin-1") if query else "")


def install(app: FastAPI) -> None:
    router = app.router
    router.redirect_slashes = False
    not_found: ASGIApp = router.default

    async def slash_redirect_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            other = _other_spelling(scope["path"])
            if other is not None:
                moved = {**scope, "path": other}
                if any(route.matches(moved)[0] is not Match.NONE for route in router.routes):
                    response = RedirectResponse(_location(other, scope.get("query_string", b"")))
                    await response(scope, receive, send)
                    return
        await not_found(scope, receive, send)

    router.default = slash_redirect_or_not_found
