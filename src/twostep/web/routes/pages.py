"""Targets of the links ThingsBoard's API redirects to; the web UI replaces these plain pages."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{title}</h1><p>{text}</p></main></body></html>"""


def _page(title: str, text: str) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=title, text=text),
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'"},
    )


@router.get("/login/createPassword", include_in_schema=False)
def create_password_page() -> HTMLResponse:
    return _page("Create password", "Choose a password for your new account.")


@router.get("/login/resetPassword", include_in_schema=False)
def reset_password_page() -> HTMLResponse:
    return _page("Reset password", "Choose a new password for your account.")


@router.get("/activationLinkExpired", include_in_schema=False)
def activation_expired() -> HTMLResponse:
    return _page("Activation link expired", "Ask your administrator for a new activation link.")


@router.get("/passwordResetLinkExpired", include_in_schema=False)
def reset_expired() -> HTMLResponse:
    return _page("Password reset link expired", "Request a new password reset.")
