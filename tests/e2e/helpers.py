"""Page-level steps shared by the browser tests."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.factories import oathtool
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD, outbox


def ready(page: Page) -> None:
    """Wait until the page script has loaded its data (body[data-ready])."""
    page.locator("body[data-ready]").wait_for(state="attached")


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_sysadmin(page: Page) -> None:
    sign_in(page, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))


def last_code(container: Any, channel: str, *, after: int = 0) -> str:
    """The code in the newest SMS or email of the dev outbox (waiting a little for it)."""
    deadline = time.time() + 5
    while True:
        messages = [m for m in outbox(container.config) if m["channel"] == channel]
        if len(messages) > after:
            body = messages[-1]["body"]
            if channel == "email":
                return body.split("Your verification code: ")[1][:6]  # type: ignore[no-any-return]
            return body[-6:]  # type: ignore[no-any-return]
        if time.time() > deadline:
            raise AssertionError(f"no {channel} message in the outbox")
        time.sleep(0.05)


def count(container: Any, channel: str) -> int:
    return len([m for m in outbox(container.config) if m["channel"] == channel])


def enable_totp(page: Page) -> str:
    """Enable the authenticator app on the Security page; returns the key read off the page."""
    page.get_by_role("switch", name="Authenticator app").click()
    dialog = page.locator("dialog#enroll")
    expect(dialog.get_by_role("heading", name="Enable authenticator app")).to_be_visible()
    dialog.get_by_role("button", name="Next").click()
    key = dialog.locator("#totp-key")
    expect(key).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    secret = key.inner_text()
    # The previous step's code: the drift window accepts it and the current step stays unused,
    # so the login right after needs no wait.
    dialog.get_by_label("Enter the 6-digit code here").fill(oathtool(secret, time.time() - 30))
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog.get_by_text("Success!")).to_be_visible()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_text("Authenticator app is set up for your account")).to_be_visible()
    return secret
