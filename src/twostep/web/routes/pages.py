"""The web UI's HTML pages (issue 5). Each page is a server-rendered shell; its module in /static/js/ fills it in
through the JSON API (see web/ui/ for the cookie session, CSRF and CSP). The activation and password
reset links of ThingsBoard's API land on /login/createPassword and /login/resetPassword and always
answer 200 (tb-rest-client follows the redirects there)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from twostep.domain.authority import Authority
from twostep.web.ui.render import FULL, render, session_principal

router = APIRouter(include_in_schema=False)

HOME = "/account/security"


def _nav(principal: Any) -> list[dict[str, str]]:
    items = [{"href": "/account/security", "label": "Account security"}]
    if principal.authority == Authority.SYS_ADMIN:
        items += [
            {"href": "/admin/2fa", "label": "Two-factor authentication"},
            {"href": "/admin/security", "label": "Security settings"},
            {"href": "/admin/tenants", "label": "Tenants"},
            {"href": "/admin/audit", "label": "Audit log"},
        ]
    return items


def _page(template: str, title: str, page: str, principal: Any = None, **extra: Any) -> Response:
    context: dict[str, Any] = {"title": title, "page": page, **extra}
    if principal is not None and principal.authority in FULL:
        context.update(
            nav=_nav(principal), email=principal.email, authority=principal.authority.value
        )
    return render(template, **context)


def _to_login() -> Response:
    return RedirectResponse("/login", status_code=303)


def _full_page(
    request: Request, template: str, title: str, page: str, *, sysadmin: bool = False
) -> Response:
    principal = session_principal(request)
    if principal is None or principal.authority not in FULL:
        return _to_login()
    if sysadmin and principal.authority != Authority.SYS_ADMIN:
        return render(
            "message.html",
            status=403,
            title="Not allowed",
            page="message",
            text="This page is for the system administrator.",
        )
    return _page(template, title, page, principal)


@router.get("/")
def root(request: Request) -> Response:
    principal = session_principal(request)
    if principal is not None and principal.authority in FULL:
        return RedirectResponse(HOME, status_code=303)
    return _to_login()


@router.get("/login")
def login_page(request: Request) -> Response:
    principal = session_principal(request)
    if principal is not None and principal.authority in FULL:
        return RedirectResponse(HOME, status_code=303)
    return _page("login.html", "Sign in", "login")


@router.get("/login/mfa")
def mfa_page(request: Request) -> Response:
    principal = session_principal(request)
    if principal is None or principal.authority != Authority.PRE_VERIFICATION_TOKEN:
        return _to_login()
    return _page("mfa.html", "Verify your identity", "mfa")


@router.get("/login/force-mfa")
def force_mfa_page(request: Request) -> Response:
    principal = session_principal(request)
    if principal is None or principal.authority != Authority.MFA_CONFIGURATION_TOKEN:
        return _to_login()
    return _page(
        "force_mfa.html",
        "Two-factor authentication is required",
        "force-mfa",
        email_hint=principal.email,
    )


@router.get("/login/createPassword")
def create_password_page() -> Response:
    return _page("create_password.html", "Create password", "create-password")


@router.get("/login/resetPassword")
def reset_password_page() -> Response:
    return _page("reset_password.html", "Reset password", "reset-password")


@router.get("/login/resetPasswordRequest")
def reset_request_page() -> Response:
    return _page("reset_request.html", "Request password reset", "reset-request")


@router.get("/activationLinkExpired")
def activation_expired() -> Response:
    return _page(
        "message.html",
        "Activation link expired",
        "message",
        text="Ask your administrator for a new activation link.",
    )


@router.get("/passwordResetLinkExpired")
def reset_expired() -> Response:
    return _page(
        "message.html",
        "Password reset link expired",
        "message",
        text="Request a new password reset.",
    )


@router.get("/account/security")
def security_page(request: Request) -> Response:
    return _full_page(request, "security.html", "Account security", "security")


@router.get("/admin/2fa")
def admin_twofa_page(request: Request) -> Response:
    return _full_page(
        request, "admin_2fa.html", "Two-factor authentication", "admin-2fa", sysadmin=True
    )


@router.get("/admin/security")
def admin_security_page(request: Request) -> Response:
    return _full_page(
        request, "admin_security.html", "Security settings", "admin-security", sysadmin=True
    )


@router.get("/admin/tenants")
def admin_tenants_page(request: Request) -> Response:
    return _full_page(request, "admin_tenants.html", "Tenants", "admin-tenants", sysadmin=True)


@router.get("/admin/audit")
def admin_audit_page(request: Request) -> Response:
    return _full_page(request, "admin_audit.html", "Audit log", "admin-audit", sysadmin=True)
