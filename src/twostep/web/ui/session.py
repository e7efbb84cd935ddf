"""Cookie names and attributes for the UI session, and the CSRF double-submit token.

The JWT lives in an HttpOnly, SameSite=Strict, Path=/ cookie that page scripts cannot read. The CSRF
token is a second, readable cookie that scripts echo in the X-CSRF-Token header; the middleware compares
the two with hmac.compare_digest. Over https both cookies carry the __Host- prefix and Secure.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.responses import Response

SESSION = "ts_session"
CSRF = "ts_csrf"
CSRF_HEADER = "x-csrf-token"


def is_https(scope_scheme: str) -> bool:
    return scope_scheme in ("https", "wss")


def session_name(https: bool) -> str:
    return f"__Host-{SESSION}" if https else SESSION


def csrf_name(https: bool) -> str:
    return f"__Host-{CSRF}" if https else CSRF


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(cookie_value: str | None, header_value: str | None) -> bool:
    if not cookie_value or not header_value:
        return False
    return hmac.compare_digest(cookie_value.encode(), header_value.encode())


def set_session(response: Response, token: str, *, https: bool) -> None:
    response.set_cookie(
        session_name(https), token, path="/", httponly=True, samesite="strict", secure=https
    )


def clear_session(response: Response, *, https: bool) -> None:
    response.delete_cookie(
        session_name(https), path="/", httponly=True, samesite="strict", secure=https
    )


def set_csrf(response: Response, token: str, *, https: bool) -> None:
    # Readable by page scripts on purpose (double submit); useless to another origin.
    response.set_cookie(
        csrf_name(https), token, path="/", httponly=False, samesite="strict", secure=https
    )
