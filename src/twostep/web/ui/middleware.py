"""The UI's ASGI middleware: cookie session -> bearer header, CSRF, and page security headers.

- /api/* requests that carry the session cookie and no Authorization header get the cookie's token as
  `X-Authorization: Bearer ...` ONLY when the request also carries a valid CSRF token (X-CSRF-Token equal
  to the ts_csrf cookie, compared in constant time) and is same-origin (Origin, or Sec-Fetch-Site when the
  browser sends no Origin). An unsafe method that fails the check is refused with 403; a safe one simply
  goes through unauthenticated (so a link opened in the address bar still works).
- Endpoints that would hand a token to the page (check, 2fa/login, changePassword, refresh, user token)
  are refused for cookie-authenticated requests: the page uses /ui/session/* instead, which keeps the
  token in the HttpOnly cookie.
- /ui/* requests always need the CSRF check (including login, against login CSRF); any Authorization
  header a page might send there is dropped and replaced by the cookie's token.
- Every non-API response gets a strict Content-Security-Policy and Cache-Control: no-store; page GETs
  without a CSRF cookie get one.
"""

from __future__ import annotations

import re
from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twostep.web.middleware import send_error
from twostep.web.ui import session as s

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOKEN_RETURNING = re.compile(
    r"^/api/(auth/2fa/verification/check|auth/2fa/login|auth/changePassword|auth/token"
    r"|user/[^/]+/token)/?$"
)
CSRF_REFUSED = "The request was refused: missing or invalid CSRF token"
TOKEN_REFUSED = "This endpoint is not available to the browser session"


def _cookies(raw: bytes | None) -> dict[str, str]:
    if not raw:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except (CookieError, ValueError):  # a malformed Cookie header means no cookies, never a 500
        return {}
    return {k: m.value for k, m in jar.items()}


def _same_origin(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    host = headers.get(b"host", b"").decode("latin-1")
    expected = f"{scope.get('scheme', 'http')}://{host}"
    origin = headers.get(b"origin")
    if origin is not None:
        return origin.decode("latin-1") == expected
    site = headers.get(b"sec-fetch-site")
    return site is not None and site.decode("latin-1") == "same-origin"


async def _refuse(send: Send, message: str) -> None:
    await send_error(send, 403, message, 20)


class UiSessionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.lower(): v for k, v in scope["headers"]}
        https = s.is_https(scope.get("scheme", "http"))
        cookies = _cookies(headers.get(b"cookie"))
        token = cookies.get(s.session_name(https))
        csrf_cookie = cookies.get(s.csrf_name(https))
        is_api = path.startswith("/api/")
        is_ui = path.startswith("/ui/")

        def csrf_ok() -> bool:
            header = headers.get(s.CSRF_HEADER.encode())
            return s.csrf_matches(
                csrf_cookie, header.decode("latin-1") if header is not None else None
            ) and _same_origin(scope, headers)

        if is_ui:
            if not csrf_ok():
                await _refuse(send, CSRF_REFUSED)
                return
            scope = _with_token(scope, token)
        elif (
            is_api
            and token
            and b"authorization" not in headers
            and (b"x-authorization" not in headers)
        ):
            if csrf_ok():
                if TOKEN_RETURNING.match(path):
                    await _refuse(send, TOKEN_REFUSED)
                    return
                scope = _with_token(scope, token)
            elif method not in SAFE_METHODS:
                await _refuse(send, CSRF_REFUSED)
                return

        if is_api:
            await self.app(scope, receive, send)
            return

        give_csrf = (
            method == "GET" and not csrf_cookie and not path.startswith("/static/") and not is_ui
        )

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control", b"content-security-policy")
                ]
                kept += [
                    (b"content-security-policy", CSP.encode()),
                    (b"cache-control", b"no-store"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if give_csrf:
                    attrs = "Path=/; SameSite=Strict" + ("; Secure" if https else "")
                    cookie = f"{s.csrf_name(https)}={s.new_csrf_token()}; {attrs}"
                    kept.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = kept
            await send(message)

        await self.app(scope, receive, with_headers)


def _with_token(scope: Scope, token: str | None) -> Scope:
    headers = [
        (k, v)
        for k, v in scope["headers"]
        if k.lower() not in (b"authorization", b"x-authorization")
    ]
    if token:
        headers.append((b"x-authorization", f"Bearer {token}".encode("latin-1")))
    return {**scope, "headers": headers}
