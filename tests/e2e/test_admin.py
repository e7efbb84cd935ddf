"""The sysadmin's pages: 2FA settings form, security settings, tenants and their admins (unlock,
2FA reset, activation), audit log."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot
from tests.e2e.helpers import ready, sign_in, sign_in_sysadmin, sign_out
from tests.factories import create_user, oathtool
from tests.support import wait_for_message
from tests.twofa_helpers import enroll_totp, full_headers, save_platform

EMAIL = "user@example.com"
PASSWORD = "user-Pa55word"


def test_sysadmin_changes_2fa_settings_through_the_form(
    page: Page, client: Any, sysadmin_headers: Any
) -> None:
    sign_in_sysadmin(page)
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page).to_have_url(re.compile(r"/admin/2fa$"))
    ready(page)
    form = page.locator("#twofa-settings")
    # Nothing saved yet: the form shows the defaults of spec §4.4, no provider enabled.
    expect(form.get_by_label("Total allowed time for verification (seconds)")).to_have_value("3600")
    expect(form.get_by_label("Retry verification code period (seconds)")).to_have_value("30")
    expect(form.get_by_label("Max verification failures before user lockout")).to_have_value("30")
    expect(
        form.get_by_role("switch", name="Verification code check rate limit")
    ).not_to_be_checked()
    for name in ("Authenticator app", "SMS", "Email"):
        expect(form.get_by_role("switch", name=name)).not_to_be_checked()
    expect(form.get_by_role("switch", name="Backup code")).to_be_disabled()

    # Enforcing without a provider is refused in words.
    form.get_by_role("switch", name="Enforce two-factor authentication").click()
    expect(form.get_by_text("At least one 2FA provider should be configured.")).to_be_visible()
    form.get_by_label("Enforce for").select_option("TENANT_ADMINISTRATORS")
    expect(form.get_by_text("Leave empty to apply to all.")).to_be_visible()

    form.get_by_role("switch", name="Authenticator app").click()
    expect(form.get_by_label("Issuer name")).to_have_value("ThingsBoard")
    form.get_by_label("Issuer name").fill("   ")
    form.get_by_role("switch", name="SMS").click()
    expect(form.get_by_label("Verification message template")).to_have_value(
        "Verification code: ${code}"
    )
    form.get_by_label("Verification message template").fill("Your code")
    form.get_by_role("switch", name="Email").click()
    form.locator("#email-lifetime").fill("0")
    form.get_by_role("switch", name="Backup code").click()
    expect(form.get_by_label("Number of codes")).to_have_value("10")
    form.get_by_label("Number of codes").fill("0")
    form.get_by_label("Total allowed time for verification (seconds)").fill("59")
    form.get_by_label("Retry verification code period (seconds)").fill("4")
    form.get_by_label("Max verification failures before user lockout").fill("65536")
    form.get_by_role("switch", name="Verification code check rate limit").click()
    expect(form.get_by_label("Number of checking attempts")).to_have_value("3")
    expect(form.get_by_label("Within time (seconds)")).to_have_value("900")
    form.get_by_label("Number of checking attempts").fill("0")
    form.get_by_role("button", name="Save").click()
    for message in (
        "Issuer name is required.",
        "Verification message template must contain the verification code ${code}.",
        "Verification code lifetime is required and must be at least 1 second.",
        "Number of codes must be greater than 0.",
        "Total allowed time for verification must be at least 60 seconds.",
        "Retry verification code period must be at least 5 seconds.",
        "Max verification failures before user lockout must be a number from 0 to 65535.",
        "Number of checking attempts must be at least 1.",
        "Please correct the highlighted fields.",
    ):
        expect(form.get_by_text(message, exact=True)).to_be_visible()
    assert client.get("/api/2fa/settings", headers=sysadmin_headers).text == ""  # nothing saved

    form.get_by_label("Issuer name").fill("Acme")
    form.get_by_label("Verification message template").fill("Acme code: ${code}")
    form.locator("#email-lifetime").fill("300")
    form.get_by_label("Number of codes").fill("5")
    form.get_by_label("Total allowed time for verification (seconds)").fill("900")
    form.get_by_label("Retry verification code period (seconds)").fill("10")
    form.get_by_label("Max verification failures before user lockout").fill("7")
    form.get_by_label("Number of checking attempts").fill("4")
    form.get_by_label("Within time (seconds)").fill("600")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("Two-factor authentication settings saved.")).to_be_visible()
    shot(page, "admin-2fa-settings")

    saved = client.get("/api/2fa/settings", headers=sysadmin_headers).json()
    assert saved["providers"] == [
        {"providerType": "TOTP", "issuerName": "Acme"},
        {
            "providerType": "SMS",
            "verificationCodeLifetime": 120,
            "smsVerificationMessageTemplate": "Acme code: ${code}",
        },
        {"providerType": "EMAIL", "verificationCodeLifetime": 300},
        {"providerType": "BACKUP_CODE", "codesQuantity": 5},
    ]
    assert saved["minVerificationCodeSendPeriod"] == 10
    assert saved["verificationCodeCheckRateLimit"] == "4:600"
    assert saved["maxVerificationFailuresBeforeUserLockout"] == 7
    assert saved["totalAllowedTimeForVerification"] == 900
    assert saved["enforceTwoFa"] is True
    users_filter = saved["enforcedUsersFilter"]
    assert (
        users_filter["type"] == "TENANT_ADMINISTRATORS"
    )  # empty lists: every tenant administrator
    assert not users_filter.get("tenantsIds") and not users_filter.get("tenantProfilesIds")

    # Reloaded, the form shows what was saved; switching the limit off sends null (no limit).
    page.reload()
    ready(page)
    expect(form.get_by_label("Issuer name")).to_have_value("Acme")
    expect(form.get_by_label("Number of checking attempts")).to_have_value("4")
    expect(form.get_by_label("Enforce for")).to_have_value("TENANT_ADMINISTRATORS")
    form.get_by_role("switch", name="Verification code check rate limit").click()
    form.get_by_role("switch", name="Enforce two-factor authentication").click()
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("Two-factor authentication settings saved.")).to_be_visible()
    saved = client.get("/api/2fa/settings", headers=sysadmin_headers).json()
    assert saved["verificationCodeCheckRateLimit"] is None and saved["enforceTwoFa"] is False


def test_lockout_then_unlock_and_2fa_reset_by_the_sysadmin(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    save_platform(client, sysadmin_headers, maxVerificationFailuresBeforeUserLockout=3)
    create_user(container, EMAIL, PASSWORD)
    secret = enroll_totp(client, full_headers(client, EMAIL, PASSWORD))
    valid = {oathtool(secret, time.time() + d) for d in (-60, -30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in valid)

    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    for _ in range(2):
        page.get_by_label("Code").fill(wrong)
        page.get_by_role("button", name="Continue").click()
        expect(
            page.get_by_text("Verification code is incorrect. Check the code and try again.")
        ).to_be_visible()
        page.get_by_label("Code").fill("")
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Continue").click()
    locked = "Your account has been locked because of too many failed verification attempts. Contact your administrator to unlock it."
    expect(page.get_by_text(locked)).to_be_visible()
    shot(page, "locked-out")
    page.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Invalid username or password.")).to_be_visible()

    # The sysadmin unlocks the user from the tenant's administrator list.
    sign_in_sysadmin(page)
    page.get_by_role("link", name="Tenants").click()
    page.get_by_role("button", name="Administrators of Tenant A").click()
    row = page.locator(f"#admins-table tr[data-email='{EMAIL}']")
    expect(row).to_contain_text("Locked or disabled")
    shot(page, "admin-tenants")
    row.get_by_role("button", name=f"Unlock {EMAIL}").click()
    expect(page.get_by_text(f"{EMAIL} is unlocked and can sign in again.")).to_be_visible()
    expect(row).to_contain_text("Active")
    sign_out(page)

    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    page.get_by_label("Code").fill(oathtool(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    sign_out(page)

    # Reset of the user's 2FA (DELETE /api/2fa/{userId}/config): next login needs the password only.
    sign_in_sysadmin(page)
    page.goto("/admin/tenants")
    page.get_by_role("button", name="Administrators of Tenant A").click()
    page.get_by_role("button", name=f"Reset two-factor authentication of {EMAIL}").click()
    page.locator("dialog#confirm").get_by_role("button", name="Reset").click()
    expect(
        page.get_by_text(f"Two-factor authentication of {EMAIL} has been reset.")
    ).to_be_visible()
    sign_out(page)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))


def test_the_sysadmin_signs_a_tenant_administrator_out_everywhere(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    create_user(container, EMAIL, PASSWORD)
    elsewhere = full_headers(client, EMAIL, PASSWORD)
    sign_in_sysadmin(page)
    page.goto("/admin/tenants")
    page.get_by_role("button", name="Administrators of Tenant A").click()
    page.get_by_role("button", name=f"Sign out {EMAIL} everywhere").click()
    expect(page.get_by_text(f"{EMAIL} is signed out everywhere (1 session).")).to_be_visible()
    assert client.get("/api/auth/user", headers=elsewhere).status_code == 401
    page.get_by_role("button", name=f"Sign out {EMAIL} everywhere").click()
    expect(page.get_by_text(f"{EMAIL} was not signed in anywhere.")).to_be_visible()


def test_new_tenant_admin_activates_and_resets_the_password(page: Page, container: Any) -> None:
    sign_in_sysadmin(page)
    page.get_by_role("link", name="Tenants").click()
    page.get_by_label("New tenant title").fill("Globex")
    page.get_by_role("button", name="Add tenant").click()
    expect(page.get_by_role("heading", name="Tenant administrators of Globex")).to_be_visible()
    page.get_by_label("New administrator email").fill("admin@globex.example")
    page.get_by_label("First name").fill("Hank")
    page.get_by_role("button", name="Add tenant administrator").click()
    link = page.locator("#activation-link code")
    expect(link).to_have_text(re.compile(r"/api/noauth/activate\?activateToken="))
    expect(page.locator("#admins-table tr[data-email='admin@globex.example']")).to_contain_text(
        "Not activated"
    )
    activation = link.inner_text()
    sign_out(page)

    # The activation link redirects to /login/createPassword?activateToken=...
    page.goto(activation)
    expect(page).to_have_url(re.compile(r"/login/createPassword\?activateToken="))
    page.get_by_label("Password", exact=True).fill("Globex-Pa55word")
    page.get_by_label("Password again").fill("Globex-Pa55wordX")
    page.get_by_role("button", name="Create password").click()
    expect(page.get_by_text("The passwords do not match.")).to_be_visible()
    page.get_by_label("Password again").fill("Globex-Pa55word")
    page.get_by_role("button", name="Create password").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))

    # Change the password on the Security page (the session continues with the new token).
    page.get_by_label("Current password").fill("wrong-Pa55word")
    page.get_by_label("New password", exact=True).fill("Globex-Pa55word2")
    page.get_by_label("New password again").fill("Globex-Pa55word2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Current password doesn't match!")).to_be_visible()
    page.get_by_label("Current password").fill("Globex-Pa55word")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()
    page.reload()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    sign_out(page)

    # Forgotten password: the emailed link leads to /login/resetPassword?resetToken=...
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill("admin@globex.example")
    page.get_by_role("button", name="Request password reset").click()
    expect(
        page.get_by_text(
            "If an account exists for this address, a password reset link is on its way."
        )
    ).to_be_visible()
    mail = wait_for_message(container.config, lambda m: "resetToken=" in m.get("body", ""))
    reset_link = re.search(r"https?://\S+resetToken=[\w-]+", mail["body"]).group(0)  # type: ignore[union-attr]
    page.goto(reset_link)
    expect(page).to_have_url(re.compile(r"/login/resetPassword\?resetToken="))
    page.get_by_label("New password", exact=True).fill("Globex-Pa55word3")
    page.get_by_label("New password again").fill("Globex-Pa55word3")
    page.get_by_role("button", name="Reset password").click()
    expect(
        page.get_by_text("Your password has been reset. Please sign in with the new password.")
    ).to_be_visible()
    sign_in(page, "admin@globex.example", "Globex-Pa55word3")
    expect(page).to_have_url(re.compile(r"/account/security$"))


def test_security_settings_and_audit_log(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    sign_in_sysadmin(page)
    page.get_by_role("link", name="Security settings").click()
    expect(page).to_have_url(re.compile(r"/admin/security$"))
    ready(page)
    form = page.locator("#security-settings")
    form.get_by_label("Maximum number of failed login attempts before the account is locked").fill(
        "5"
    )
    form.get_by_label("Email to notify when a user account is locked").fill("alerts@example.com")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("Security settings saved.")).to_be_visible()
    shot(page, "admin-security-settings")
    saved = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    assert (
        saved["maxFailedLoginAttempts"] == 5
        and saved["userLockoutNotificationEmail"] == "alerts@example.com"
    )

    page.get_by_role("link", name="Audit log").click()
    table = page.locator("#audit-table")
    expect(table).to_contain_text("LOGIN")
    page.get_by_label("Action type").select_option("LOGOUT")
    page.get_by_role("button", name="Apply filters").click()
    expect(table).to_contain_text("No entries match these filters.")
    page.get_by_label("Action type").select_option("LOGIN")
    page.get_by_role("button", name="Apply filters").click()
    expect(table.locator("tbody tr").first).to_contain_text("SUCCESS")
    shot(page, "admin-audit-log")


def test_settings_forms_cannot_be_saved_until_the_current_settings_are_loaded(
    page: Page, client: Any, sysadmin_headers: Any
) -> None:
    save_platform(client, sysadmin_headers)
    before = client.get("/api/2fa/settings", headers=sysadmin_headers).json()
    sign_in_sysadmin(page)
    # The current settings fail to load: a blank form must not be saved over them.
    for path, url in (("/admin/2fa", "**/api/2fa/settings"), ("/admin/security", "**/api/admin/securitySettings")):
        page.route(url, lambda route: route.fulfill(status=503, body="unavailable"))
        page.goto(path)
        ready(page)
        expect(page.get_by_role("alert").filter(has_text=re.compile(r"\S"))).to_be_visible()
        expect(page.get_by_role("button", name="Save")).to_be_disabled()
        page.unroute(url)
        page.reload()
        ready(page)
        expect(page.get_by_role("button", name="Save")).to_be_enabled()
    assert client.get("/api/2fa/settings", headers=sysadmin_headers).json() == before
