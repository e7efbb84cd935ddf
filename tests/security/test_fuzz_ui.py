"""Fuzzing of the web UI's routes (issue 15 §5), which the OpenAPI schema leaves out: the
session endpoints the pages post to (/ui/session/*, /ui/totp/generate; JSON bodies behind the
CSRF check) and the pages themselves (GET, any query string, any cookie). Same callers, same
backends and same checks as test_fuzz_openapi.py: no 5xx, errors in ThingsBoard's shape, no
unhandled exception in the server's log.

Bodies are generated with hypothesis from the field names the API reads, plus the hostile values
of issue 15 once each. Nothing is skipped: each test has a clean database and fresh cookies, so
a logout or a password change only ends its own session.
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from typing import Any

import pytest
import requests
from hypothesis import given, seed
from hypothesis import strategies as st

from tests.security.fuzzing import (
    BODIES,
    CALLERS,
    FUZZ,
    SALTS,
    SWEEP,
    assert_answered,
    caller_token,
    salted,
    serialise,
    swept,
)
from tests.support import LiveServer
from twostep.web.app import create_app
from twostep.web.routes import pages
from twostep.web.ui import endpoints

FORM_ROUTES = sorted(
    (method, route.path)  # type: ignore[attr-defined]
    for route in endpoints.router.routes
    for method in route.methods  # type: ignore[attr-defined]
)
PAGES = sorted(route.path for route in pages.router.routes)  # type: ignore[attr-defined]

_query_values = st.one_of(st.text(max_size=30), st.sampled_from(["", "x" * 300, "%", "a\x00b"]))
QUERIES = st.dictionaries(
    st.sampled_from(["activateToken", "resetToken", "next", "page", "x"]) | st.text(max_size=6),
    _query_values,
    max_size=3,
)
COOKIE_VALUES = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters=";,\\\" "), max_size=40),
    st.sampled_from(["eyJhbGciOiJIUzUxMiJ9.e30.x", "a" * 5000, "=", "\"unterminated"]),
)


def test_every_form_route_and_page_is_fuzzed() -> None:
    assert ("POST", "/ui/session/login") in FORM_ROUTES and "/account/security" in PAGES
    assert all(method == "POST" for method, _ in FORM_ROUTES), FORM_ROUTES


@pytest.fixture(scope="module")
def ui_server(session_container):  # type: ignore[no-untyped-def]
    with LiveServer(create_app(session_container)) as server:
        yield server


def _browser(server: Any, token: str | None) -> tuple[requests.Session, dict[str, str]]:
    """A session as the UI's page script holds it: the CSRF cookie echoed in the header, the
    page's own origin, and the token (if any) in the HttpOnly session cookie."""
    http = requests.Session()
    csrf = secrets.token_urlsafe(32)
    http.cookies.set("ts_csrf", csrf)
    if token:
        http.cookies.set("ts_session", token)
    return http, {"X-CSRF-Token": csrf, "Origin": server.url}


def _address(server: Any, path: str, query: dict[str, Any]) -> str:
    target = server.url + path
    if query:
        target += "?" + urllib.parse.urlencode(query, doseq=True, errors="surrogatepass")
    return target


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("method,path", FORM_ROUTES)
def test_no_server_error_on_form_posts(ui_server, container, client, server_errors, loopback_only, caller, method, path) -> None:  # type: ignore[no-untyped-def]
    http, headers = _browser(ui_server, caller_token(caller, container, client))

    def send(body: Any, query: dict[str, Any], with_csrf: bool, label: Any) -> None:
        data = serialise(body) if body is not None else None
        sent = {**headers, "Content-Type": "application/json"} if with_csrf else {}
        response = http.request(method, _address(ui_server, path, query), data=data, headers=sent, timeout=60)
        assert_answered(response, f"{method} {path} as {caller}: {query} {label} csrf={with_csrf}")
        assert not server_errors.records, server_errors.records[0].getMessage()

    @FUZZ
    @seed(int(os.environ.get("TWOSTEP_FUZZ_SEED", "0")))
    @given(fields=BODIES, query=QUERIES, salt=SALTS, with_csrf=st.booleans())
    def one(fields: Any, query: dict[str, Any], salt: Any, with_csrf: bool) -> None:
        body, query = salted(fields, query, salt)
        send(body, query, with_csrf, salt)

    one()
    for salt in SWEEP:
        for body, query in swept({"x": "1"}, salt):
            send(body, query, True, salt)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", PAGES)
def test_no_server_error_on_pages(ui_server, container, client, server_errors, caller, path) -> None:  # type: ignore[no-untyped-def]
    token = caller_token(caller, container, client)

    @FUZZ
    @seed(int(os.environ.get("TWOSTEP_FUZZ_SEED", "0")))
    @given(query=QUERIES, session_cookie=COOKIE_VALUES, csrf_cookie=COOKIE_VALUES)
    def one(query: dict[str, Any], session_cookie: str | None, csrf_cookie: str | None) -> None:
        cookies = {"ts_session": session_cookie or token or "", "ts_csrf": csrf_cookie or ""}
        raw = "; ".join(f"{k}={v}" for k, v in cookies.items() if v)
        headers = {"Cookie": raw} if raw else {}
        response = requests.get(
            _address(ui_server, path, query), headers=headers, allow_redirects=False, timeout=60
        )
        assert response.status_code < 500, (path, query, cookies, response.text[:300])
        assert not server_errors.records, server_errors.records[0].getMessage()

    one()
