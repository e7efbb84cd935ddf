"""A18 (Host header poisoning), for redirects: no redirect ever points at a host the request named.

Starlette's trailing-slash redirect (`GET /login/` -> 307) builds its Location from the request's
Host header, so `Host: evil.example` sent `http://evil.example/login` back; a cache or a proxy that
passes any Host on turns that into a redirect of other people. twostep's redirects carry a path
only (a relative reference, RFC 9110 §10.2.2): the browser stays on the host it asked. Every route
of the application is tried with and without a trailing slash, with every method it answers, so a
route added later is covered too; and the redirects the pages and the emailed links make.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Mount

from tests.factories import create_user
from twostep.domain.ids import NULL_UUID

POISON = {
    "Host": "evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "Forwarded": "host=evil.example;proto=https",
}


def _assert_relative(response: Any) -> None:
    location = response.headers.get("location")
    if response.status_code in (301, 302, 303, 307, 308):
        assert location, response
    if location is None:
        return
    assert "evil.example" not in location, (response.request.url.path, location)
    # A path on this host: not absolute, not protocol-relative ('//host'), no backslash trick.
    assert re.match(r"^/(?![/\\])", location), (response.request.url.path, location)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(NULL_UUID), path)


def _every_route(routes: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(method, concrete path) of every route, into included routers and mounts."""
    found = []
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            found += _every_route(
                route.original_router.routes, prefix + route.include_context.prefix
            )
        elif isinstance(route, Mount):
            found.append(("GET", prefix + route.path))
        elif hasattr(route, "methods"):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    found.append((method, _concrete(prefix + route.path)))
    return found


def test_slash_redirects_never_take_the_host_from_the_request(app, client) -> None:  # type: ignore[no-untyped-def]
    routes = _every_route(app.routes)
    assert ("GET", "/login") in routes and len(routes) > 50
    redirected = 0
    for method, path in routes:
        if path.endswith("/"):
            variants, expected = [path.rstrip("/")], path
        else:
            variants, expected = [path + "/", path + "//"], path
        for variant in variants:
            r = client.request(method, variant + "?a=1", headers=POISON, follow_redirects=False)
            _assert_relative(r)
            if r.status_code == 307:
                redirected += 1
                assert r.headers["location"] == expected + "?a=1", (variant, r.headers["location"])
    assert redirected > 50  # the slash redirect itself still works, relative


def test_the_slash_redirect_is_no_open_redirect(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("//evil.example/", "//evil.example//", "/\\evil.example/", "///login/"):
        # Spelled out whole: httpx would read '//evil.example/' as a host.
        r = client.get("http://testserver" + path, headers=POISON, follow_redirects=False)
        _assert_relative(r)
        assert r.status_code in (404, 200), (path, r.status_code, r.headers.get("location"))


def test_page_redirects_are_relative(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/login/mfa", "/login/force-mfa", "/account/security", "/admin/2fa",
                 "/admin/security", "/admin/tenants", "/admin/audit"):  # fmt: skip
        r = client.get(path, headers=POISON, follow_redirects=False)
        assert r.status_code == 303, path
        _assert_relative(r)


def test_emailed_link_redirects_are_relative(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/user?sendActivationMail=false",
        headers=sysadmin_headers,
        json={"email": "new@example.com", "authority": "SYS_ADMIN"},
    )
    assert r.status_code == 200, r.text
    link = client.get(
        f"/api/user/{r.json()['id']['id']}/activationLink", headers=sysadmin_headers
    ).text
    token = link.split("activateToken=")[1]
    r = client.get(f"/api/noauth/activate?activateToken={token}", headers=POISON,
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    _assert_relative(r)


@pytest.mark.parametrize("signed_in", [False, True])
def test_login_page_redirect_is_relative(container, client, signed_in: bool) -> None:  # type: ignore[no-untyped-def]
    if signed_in:
        create_user(container, "page@example.com", "page-Pa55word-x")
        client.get("/login")
        r = client.post(
            "/ui/session/login",
            json={"username": "page@example.com", "password": "page-Pa55word-x"},
            headers={"X-CSRF-Token": client.cookies["ts_csrf"], "Origin": "http://testserver"},
        )
        assert r.status_code == 200, r.text
    r = client.get("/login", headers=POISON, follow_redirects=False)
    assert r.status_code == (303 if signed_in else 200)
    _assert_relative(r)
