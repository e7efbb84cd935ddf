"""The UI's protections: CSP, no-store, cookie attributes, CSRF double submit with same-origin check,
no token handed to page scripts, and a layout readable at 375 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot
from tests.e2e.helpers import ready, sign_in, sign_in_sysadmin
from tests.factories import create_user, oathtool
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import enroll_totp, full_headers, save_platform

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "twostep" / "web" / "templates"
PAGES = [
    "/login",
    "/login/createPassword?activateToken=x",
    "/login/resetPassword?resetToken=x",
    "/login/resetPasswordRequest",
    "/activationLinkExpired",
    "/account/security",
    "/admin/2fa",
    "/admin/tenants",
    "/admin/audit",
    "/admin/security",
    "/static/js/page.js",
    "/static/app.css",
]


def _session(client: httpx.Client) -> str:
    """Sign in through the UI endpoint like the page does; returns the CSRF token."""
    client.get("/login")
    csrf = client.cookies["ts_csrf"]
    r = client.post(
        "/ui/session/login",
        json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
        headers={"X-CSRF-Token": csrf, "Origin": str(client.base_url).rstrip("/")},
    )
    assert r.status_code == 200, r.text
    assert "token" not in r.json()  # the page learns where to go, never the token
    return csrf


def test_every_page_has_a_strict_csp_and_no_store(live_server: Any) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        _session(client)
        for path in PAGES:
            r = client.get(path)
            # /login sends a signed-in user on to the Security page (303): the headers are the same.
            assert r.status_code == (303 if path == "/login" else 200), (path, r.status_code)
            csp = r.headers["content-security-policy"]
            directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
            assert directives["default-src"] == "'self'"
            assert directives["script-src"] == "'self'"
            assert directives["style-src"] == "'self'"
            assert directives["img-src"] == "'self' data:"
            assert directives["frame-ancestors"] == "'none'"
            assert directives["form-action"] == "'self'"
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert r.headers["cache-control"] == "no-store", path


def test_templates_have_no_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template.name
        assert not re.search(r"\sstyle\s*=", html), template.name
        assert "<style" not in html, template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name  # no inline event handlers


def test_inline_script_injected_into_a_page_does_not_run(page: Page) -> None:
    page.goto("/login")
    ready(page)
    page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.__pwned = 1';
                   document.body.appendChild(s); }"""
    )
    assert page.evaluate("window.__pwned") is None
    page.wait_for_timeout(200)
    errors = page.ts_errors  # type: ignore[attr-defined]
    assert any("Content Security Policy" in e for e in errors), errors
    errors.clear()


def test_session_cookie_attributes_http_and_https(container: Any, app: Any) -> None:
    with TestClient(app, base_url="http://testserver") as client:
        client.get("/login")
        r = client.post(
            "/ui/session/login",
            json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
            headers={"X-CSRF-Token": client.cookies["ts_csrf"], "Origin": "http://testserver"},
        )
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("ts_session=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/login")
        assert (
            "__Host-ts_csrf=" in page.headers["set-cookie"]
            and "Secure" in page.headers["set-cookie"]
        )
        r = client.post(
            "/ui/session/login",
            json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
            headers={
                "X-CSRF-Token": client.cookies["__Host-ts_csrf"],
                "Origin": "https://testserver",
            },
        )
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-ts_session=")
        assert (
            "HttpOnly" in cookie
            and "Secure" in cookie
            and "SameSite=strict" in cookie
            and "Path=/" in cookie
        )
        assert "Domain" not in cookie


def test_cross_origin_and_csrf_less_requests_are_refused(live_server: Any) -> None:
    body = {"maxFailedLoginAttempts": None}
    with httpx.Client(base_url=live_server.url) as client:
        csrf = _session(client)
        origin = live_server.url
        settings_before = client.get(
            "/api/admin/securitySettings", headers={"X-CSRF-Token": csrf, "Origin": origin}
        )
        assert settings_before.status_code == 200
        body = settings_before.json()
        body["maxFailedLoginAttempts"] = 3
        # A forged cross-site POST: the cookie rides along, no CSRF header -> refused, nothing written.
        r = client.post(
            "/api/admin/securitySettings", json=body, headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 403 and "CSRF" in r.json()["message"]
        # Same origin but no CSRF header -> refused.
        r = client.post("/api/admin/securitySettings", json=body, headers={"Origin": origin})
        assert r.status_code == 403
        # A wrong CSRF token -> refused.
        r = client.post(
            "/api/admin/securitySettings",
            json=body,
            headers={"Origin": origin, "X-CSRF-Token": csrf + "x"},
        )
        assert r.status_code == 403
        # The right token from another origin -> refused.
        r = client.post(
            "/api/admin/securitySettings",
            json=body,
            headers={"Origin": "https://evil.example", "X-CSRF-Token": csrf},
        )
        assert r.status_code == 403
        # Neither Origin nor Sec-Fetch-Site: refused (browsers always send one of them).
        r = client.post("/api/admin/securitySettings", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403
        r = client.post(
            "/api/admin/securitySettings",
            json=body,
            headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
        )
        assert r.status_code == 403
        assert (
            client.get(
                "/api/admin/securitySettings", headers={"X-CSRF-Token": csrf, "Origin": origin}
            ).json()["maxFailedLoginAttempts"]
            is None
        )
        # A GET without the token is not authenticated by the cookie at all.
        assert client.get("/api/admin/securitySettings").status_code == 401
        # The UI's own endpoints, login included, need the token too.
        assert client.post("/ui/session/logout").status_code == 403
        r = client.post(
            "/ui/session/login",
            json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
            headers={"Origin": origin},
        )
        assert r.status_code == 403
        # The legitimate request goes through.
        r = client.post(
            "/api/admin/securitySettings",
            json=body,
            headers={"Origin": origin, "X-CSRF-Token": csrf},
        )
        assert r.status_code == 200, r.text
        r = client.post(
            "/api/admin/securitySettings",
            json=body,
            headers={"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": csrf},
        )
        assert r.status_code == 200, r.text


def test_endpoints_that_return_tokens_are_closed_to_the_cookie_session(live_server: Any) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        csrf = _session(client)
        headers = {"X-CSRF-Token": csrf, "Origin": live_server.url}
        for path in (
            "/api/auth/changePassword",
            "/api/auth/2fa/verification/check?providerType=TOTP&verificationCode=1",
            "/api/auth/2fa/login",
            "/api/auth/token",
        ):
            r = client.post(path, json={}, headers=headers)
            assert r.status_code == 403, path
            assert "token" not in r.text.lower().replace("tokens", "")


def test_api_clients_with_bearer_headers_are_unaffected(
    client: TestClient, sysadmin_headers: Any
) -> None:
    # No cookie, no CSRF header: the ThingsBoard API keeps working for tb-rest-client & co.
    assert client.get("/api/auth/user", headers=sysadmin_headers).status_code == 200
    assert client.post(
        "/api/2fa/settings", headers=sysadmin_headers, json={"providers": []}
    ).status_code in (200, 400)
    assert (
        "content-security-policy"
        not in client.get("/api/auth/user", headers=sysadmin_headers).headers
    )


@pytest.mark.parametrize("width", [375])
def test_pages_are_readable_at_375px(
    browser: Any,
    live_server: Any,
    container: Any,
    client: TestClient,
    sysadmin_headers: Any,
    width: int,
) -> None:
    save_platform(client, sysadmin_headers)
    create_user(container, "narrow@example.com", "user-Pa55word")
    secret = enroll_totp(client, full_headers(client, "narrow@example.com", "user-Pa55word"))
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    try:

        def fits(name: str) -> None:
            ready(page)
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, (name, overflow)
            shot(page, name)

        page.goto("/login")
        shot(page, "login")
        fits("login-375px")
        sign_in(page, "narrow@example.com", "user-Pa55word")
        expect(page).to_have_url(re.compile(r"/login/mfa$"))
        fits("verify-your-identity-375px")
        # Keyboard only: type the code and press Enter.
        page.get_by_label("Code").focus()
        page.keyboard.type(oathtool(secret))
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/account/security$"))
        fits("account-security-375px")
        page.goto("/login")  # already signed in: back to the Security page
        expect(page).to_have_url(re.compile(r"/account/security$"))
        context.clear_cookies()
        sign_in_sysadmin(page)
        page.goto("/admin/2fa")
        fits("admin-2fa-settings-375px")
    finally:
        context.close()


def test_every_input_has_a_label(
    page: Page, container: Any, client: TestClient, sysadmin_headers: Any
) -> None:
    save_platform(client, sysadmin_headers)
    sign_in_sysadmin(page)
    for path in (
        "/account/security",
        "/admin/2fa",
        "/admin/tenants",
        "/admin/audit",
        "/admin/security",
    ):
        page.goto(path)
        ready(page)
        unlabeled = page.evaluate(
            """() => Array.from(document.querySelectorAll('input, select')).filter((el) =>
                 el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
               ).map((el) => el.id || el.name)"""
        )
        assert unlabeled == [], (path, unlabeled)


def test_server_rendered_qr_svg_is_inert() -> None:
    from twostep.web.ui.endpoints import qr_svg

    svg = qr_svg("otpauth://totp/ThingsBoard:a@example.com?issuer=ThingsBoard&secret=" + "A" * 32)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<script" not in svg and "style=" not in svg and "<style" not in svg and " on" not in svg


def _no_button_works_before_the_script(page: Page, path: str) -> None:
    held: list[Any] = []
    page.route("**/static/js/*.js", lambda route: held.append(route))
    page.goto(path, wait_until="commit")
    page.wait_for_function("document.readyState !== 'loading'")  # parsed; the script held back
    live = page.evaluate(
        """() => Array.from(document.querySelectorAll('button')).filter((b) =>
             !b.disabled && b.getClientRects().length > 0).map((b) => b.textContent.trim())"""
    )
    assert held, path
    assert live == [], (path, live)  # a click on any of them would have done nothing
    for route in held:
        route.continue_()
    page.unroute("**/static/js/*.js")
    ready(page)


def test_no_button_can_be_clicked_before_the_page_script_has_wired_it(
    page: Page, container: Any, client: TestClient, sysadmin_headers: Any
) -> None:
    for path in ("/login", "/login/resetPasswordRequest"):
        _no_button_works_before_the_script(page, path)
    sign_in_sysadmin(page)
    for path in ("/account/security", "/admin/2fa", "/admin/tenants", "/admin/audit", "/admin/security"):
        _no_button_works_before_the_script(page, path)
        expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_enabled()
    page.goto("/admin/tenants")
    ready(page)
    expect(page.get_by_role("button", name="Add tenant", exact=True)).to_be_enabled()
