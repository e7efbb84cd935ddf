"""Second factor through the browser: enrolment on the Security page, then the login's second step."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, shot
from tests.e2e.helpers import count, enable_totp, last_code, sign_in, sign_out
from tests.factories import create_user, oathtool
from tests.security.helpers import age_sign_in
from tests.twofa_helpers import save_platform

EMAIL = "user@example.com"
PASSWORD = "user-Pa55word"
ENFORCED = {"enforceTwoFa": True, "enforcedUsersFilter": {"type": "ALL_USERS"}}


def _user(container: Any, client: Any, sysadmin_headers: Any, **platform: Any) -> None:
    save_platform(client, sysadmin_headers, **platform)
    create_user(container, EMAIL, PASSWORD)


def test_authenticator_app_enrol_then_login_with_the_key_read_off_the_page(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    shot(page, "account-security")

    page.get_by_role("switch", name="Authenticator app").click()
    dialog = page.locator("dialog#enroll")
    with page.expect_response("**/ui/totp/generate") as generated:
        dialog.get_by_role("button", name="Next").click()
    key = dialog.locator("#totp-key")
    expect(key).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    secret = key.inner_text()
    auth_url = generated.value.json()["config"]["authUrl"]
    assert auth_url == f"otpauth://totp/ThingsBoard:{EMAIL}?issuer=ThingsBoard&secret={secret}"

    # The QR code, taken from the page as pixels, decodes to exactly the enrolled URI.
    qr = dialog.locator("#totp-qr")
    qr_png = SCREENSHOTS / "qr-code.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    qr.screenshot(path=str(qr_png))
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(qr_png)], capture_output=True, text=True, check=True
    )
    assert decoded.stdout.strip() == auth_url
    shot(page, "enable-authenticator-app")

    # Copy button: the key lands on the clipboard, or is selected when the clipboard is refused.
    dialog.get_by_role("button", name="Copy key").click()
    expect(dialog.locator("#copy-status")).to_have_text(re.compile(r"Key (copied|selected)"))

    # A wrong code is refused with a sentence, then the right one activates.
    dialog.get_by_label("Enter the 6-digit code here").fill("12345")
    dialog.get_by_role("button", name="Activate").click()
    expect(
        dialog.get_by_text("Enter the 6-digit code from your authenticator app.")
    ).to_be_visible()
    dialog.get_by_label("Enter the 6-digit code here").fill(oathtool(secret, time.time() - 30))
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog.get_by_text("Success!")).to_be_visible()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_text("Authenticator app is set up for your account")).to_be_visible()

    sign_out(page)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    expect(
        page.get_by_text("Please enter the security code from your authenticator app.")
    ).to_be_visible()
    shot(page, "verify-your-identity")
    page.get_by_label("Code").fill("00000a")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Enter the 6-digit code.")).to_be_visible()
    page.get_by_label("Code").fill(oathtool(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    # The session token is out of reach of page scripts.
    assert "ts_session" not in page.evaluate("document.cookie")
    assert "ts_csrf" in page.evaluate("document.cookie")


def test_email_and_sms_codes_from_the_outbox(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers, minVerificationCodeSendPeriod=5)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    dialog = page.locator("dialog#enroll")

    # Email: prefilled with the account's address.
    page.get_by_role("switch", name="Email").click()
    expect(dialog.get_by_role("heading", name="Enable email authenticator")).to_be_visible()
    expect(dialog.get_by_label("Email")).to_have_value(EMAIL)
    dialog.get_by_role("button", name="Send code").click()
    expect(dialog.get_by_text(f"Enter a 6-digit code we just sent to {EMAIL}.")).to_be_visible()
    dialog.get_by_label("Verification code").fill(last_code(container, "email"))
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog.get_by_text("Success!")).to_be_visible()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_text(f"Authentication codes are sent via email to {EMAIL}")).to_be_visible()

    # SMS: a bad number is refused in words, then the code from the outbox activates it.
    page.get_by_role("switch", name="SMS").click()
    dialog.get_by_label("Phone number").fill("0501253652")
    dialog.get_by_role("button", name="Send code").click()
    expect(
        dialog.get_by_text(
            "Enter the phone number in international format, for example +12015550123."
        )
    ).to_be_visible()
    dialog.get_by_label("Phone number").fill("+380501253652")
    dialog.get_by_role("button", name="Send code").click()
    dialog.get_by_label("Verification code").fill(
        "000000" if last_code(container, "sms") != "000000" else "111111"
    )
    dialog.get_by_role("button", name="Activate").click()
    expect(
        dialog.get_by_text("Verification code is incorrect. Check the code and try again.")
    ).to_be_visible()
    dialog.get_by_label("Verification code").fill(last_code(container, "sms"))
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog.get_by_text("Success!")).to_be_visible()
    dialog.get_by_role("button", name="Done").click()
    expect(
        page.get_by_text("Authentication codes are sent by text message to +380501253652")
    ).to_be_visible()
    # Two methods: each can be made the main one; SMS (added last) is the main one now.
    sms_row = page.locator("li.row[data-provider='SMS']")
    expect(sms_row.get_by_label("Use as main two-factor authentication method")).to_be_checked()

    # Login: the default (SMS) is preselected and its code is sent on arrival, with a countdown.
    sign_out(page)
    sms_before = count(container, "sms")
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    expect(
        page.get_by_text("A security code has been sent to your phone at +38********52.")
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"Resend code in \d+ seconds"))).to_be_visible()
    sms_code = last_code(container, "sms", after=sms_before)
    # "Try another way" lists the methods; email sends its own code.
    page.get_by_role("button", name="Try another way").click()
    expect(page.get_by_role("heading", name="Select a way to verify")).to_be_visible()
    shot(page, "try-another-way")
    email_before = count(container, "email")
    page.get_by_role("button", name=re.compile(r"^Email")).click()
    expect(
        page.get_by_text(
            re.compile(r"A security code has been sent to your email address at \*+@example\.com\.")
        )
    ).to_be_visible()
    email_code = last_code(container, "email", after=email_before)
    page.get_by_label("Email code").fill(email_code)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    assert sms_code  # delivered on arrival

    # And by SMS, the resend button appearing once the countdown ends.
    sign_out(page)
    sms_before = count(container, "sms")
    sign_in(page, EMAIL, PASSWORD)
    expect(page.get_by_label("SMS code")).to_be_visible()
    last_code(container, "sms", after=sms_before)
    page.get_by_role("button", name="Resend code").click(timeout=10_000)
    code = last_code(container, "sms", after=sms_before + 1)
    page.get_by_label("SMS code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))


def test_backup_code_works_once(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    # Backup codes need another method first.
    expect(page.get_by_role("switch", name="Backup code")).to_be_disabled()
    secret = enable_totp(page)

    page.get_by_role("switch", name="Backup code").click()
    dialog = page.locator("dialog#enroll")
    codes_list = dialog.locator("#backup-codes li")
    expect(codes_list).to_have_count(10)
    codes = [c.strip() for c in codes_list.all_inner_texts()]
    assert all(re.fullmatch(r"[0-9a-f]{8}", c) for c in codes), codes
    expect(
        dialog.get_by_text("Once you leave this page, these codes cannot be shown again.")
    ).to_be_visible()
    shot(page, "backup-codes")
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Download (txt)").click()
    assert download.value.suggested_filename == "backup-codes.txt"
    assert Path(download.value.path()).read_text().split() == codes
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_text("10 single-use codes are active at this time")).to_be_visible()

    def login_with_backup(code: str) -> None:
        sign_in(page, EMAIL, PASSWORD)
        expect(page).to_have_url(re.compile(r"/login/mfa$"))
        page.get_by_role("button", name="Try another way").click()
        page.get_by_role("button", name="Backup code").click()
        expect(page.get_by_text("Please enter one of your backup codes.")).to_be_visible()
        page.get_by_label("Backup code").fill(code)
        page.get_by_role("button", name="Continue").click()

    sign_out(page)
    login_with_backup(codes[0])
    expect(page).to_have_url(re.compile(r"/account/security$"))
    expect(page.get_by_text("9 single-use codes are active at this time")).to_be_visible()
    sign_out(page)
    login_with_backup(codes[0])
    expect(
        page.get_by_text("Verification code is incorrect. Check the code and try again.")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    page.get_by_label("Backup code").fill(codes[1])
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))

    # A new set: confirmation, then ten fresh codes; the old ones are gone.
    page.locator("li.row[data-provider='BACKUP_CODE']").get_by_role(
        "button", name="Get new code"
    ).click()
    confirm = page.locator("dialog#confirm")
    expect(
        confirm.get_by_text(
            "If you get new backup codes, 8 remaining codes you have left will be unusable."
        )
    ).to_be_visible()
    confirm.get_by_role("button", name="Get new codes").click()
    expect(dialog.locator("#backup-codes li")).to_have_count(10)
    fresh = [c.strip() for c in dialog.locator("#backup-codes li").all_inner_texts()]
    assert not set(fresh) & set(codes)
    dialog.get_by_role("button", name="Done").click()

    # Disabling asks first, then removes the method (and the backup codes with the last one).
    page.get_by_role("switch", name="Authenticator app").click()
    expect(
        confirm.get_by_text("Are you sure you want to disable Authenticator app?")
    ).to_be_visible()
    confirm.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("switch", name="Authenticator app")).not_to_be_checked()
    expect(page.get_by_role("switch", name="Backup code")).not_to_be_checked()
    sign_out(page)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    assert secret


def test_forced_setup_with_an_email_code(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers, **ENFORCED)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/force-mfa$"))
    expect(
        page.get_by_role("heading", name="Two-factor authentication is required")
    ).to_be_visible()
    # Backup codes are offered only once another method is set up.
    expect(page.get_by_role("button", name="Backup code")).to_have_count(0)
    shot(page, "forced-setup")
    page.get_by_role("button", name="Email").click()
    dialog = page.locator("dialog#enroll")
    expect(dialog.get_by_label("Email")).to_have_value(EMAIL)
    dialog.get_by_role("button", name="Send code").click()
    dialog.get_by_label("Verification code").fill(last_code(container, "email"))
    dialog.get_by_role("button", name="Activate").click()
    expect(
        dialog.get_by_text("Email authentication successfully enabled.", exact=False)
    ).to_be_visible()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("button", name="Backup code")).to_be_visible()
    page.get_by_role("button", name="Login").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    expect(page.get_by_text(f"Authentication codes are sent via email to {EMAIL}")).to_be_visible()


def test_seeing_where_one_is_signed_in_and_ending_one_sign_in(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers)
    phone_agent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
    tablet_agent = (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/17.5 Mobile/15E148 Safari/604.1"
    )
    devices = {}
    for name, agent in (("phone", phone_agent), ("tablet", tablet_agent)):
        r = client.post(
            "/api/auth/login",
            json={"username": EMAIL, "password": PASSWORD},
            headers={"User-Agent": agent},
        )
        assert r.status_code == 200, r.text
        devices[name] = {"X-Authorization": "Bearer " + r.json()["token"]}

    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    sign_ins = page.get_by_role("list", name="Where you are signed in")
    expect(sign_ins.get_by_role("listitem")).to_have_count(3)
    here = sign_ins.get_by_role("listitem").first
    expect(here).to_contain_text("HeadlessChrome on Linux")
    expect(here).to_contain_text("This browser")
    expect(here.get_by_role("button")).to_have_count(0)  # this one is ended by signing out
    phone = sign_ins.get_by_role("listitem").filter(has_text="Chrome on Android")
    expect(phone).to_contain_text(re.compile(r"Signed in .+ from testclient"))
    expect(sign_ins.get_by_role("listitem").filter(has_text="Mobile Safari on iOS")).to_have_count(1)
    shot(page, "account-sign-ins")

    phone.get_by_role("button", name=re.compile(r"^Sign out Chrome on Android")).click()
    expect(page.get_by_role("status").filter(has_text="Signed out Chrome on Android.")).to_be_visible()
    expect(sign_ins.get_by_role("listitem")).to_have_count(2)
    assert client.get("/api/auth/user", headers=devices["phone"]).status_code == 401
    assert client.get("/api/auth/user", headers=devices["tablet"]).status_code == 200

    # The tablet ends this browser's view of it elsewhere first: the page says so and catches up.
    tablet_id = [
        s["id"]
        for s in client.get("/api/auth/sessions", headers=devices["tablet"]).json()
        if s["current"]
    ][0]
    assert client.delete(f"/api/auth/sessions/{tablet_id}", headers=devices["tablet"]).status_code == 200
    sign_ins.get_by_role("button", name=re.compile(r"^Sign out Mobile Safari on iOS")).click()
    expect(page.get_by_role("alert").filter(has_text="That sign-in has already ended.")).to_be_visible()
    expect(sign_ins.get_by_role("listitem")).to_have_count(1)


def test_forced_setup_can_be_cancelled_when_its_methods_fail_to_load(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers, **ENFORCED)
    page.route("**/api/2fa/providers", lambda route: route.fulfill(status=503, body="unavailable"))
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/force-mfa$"))
    expect(page.get_by_role("alert").filter(has_text=re.compile(r"\S"))).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_too_many_requests_and_expired_verification_are_explained(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    from sqlalchemy import update

    from tests.twofa_helpers import enroll_totp, full_headers
    from twostep.storage import tables as t

    save_platform(client, sysadmin_headers, verificationCodeCheckRateLimit="1:900")
    create_user(container, EMAIL, PASSWORD)
    secret = enroll_totp(client, full_headers(client, EMAIL, PASSWORD))
    valid = {oathtool(secret, time.time() + d) for d in (-60, -30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)

    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_text("Verification code is incorrect. Check the code and try again.")
    ).to_be_visible()
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_text("Too many requests to check verification code. Please wait and try again.")
    ).to_be_visible()

    # The verification window ends (the login attempt behind the token expires).
    with container.db.transaction() as conn:
        conn.execute(update(t.login_attempt).values(expires_at=0))
    page.get_by_label("Code").fill(oathtool(secret))
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_text("The time allowed for verification has run out. Please sign in again.")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()


def test_an_old_sign_in_is_sent_to_sign_in_again_before_changing_2fa(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    # The sign-in behind the page's session is older than the window.
    token = next(c["value"] for c in page.context.cookies() if c["name"].endswith("ts_session"))
    age_sign_in(container, token, container.config.reauth_window_s + 3600)

    page.get_by_role("switch", name="Authenticator app").click()
    page.locator("dialog#enroll").get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(r"/login\?reason=reauth$"))
    expect(
        page.get_by_text("For your security, sign in again to make this change.")
    ).to_be_visible()

    # Signing in again lands on the Security page, where the change now goes through.
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    page.get_by_role("switch", name="Authenticator app").click()
    dialog = page.locator("dialog#enroll")
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.locator("#totp-key")).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))


def test_signing_out_everywhere_else_from_the_security_page(
    page: Page, container: Any, client: Any, sysadmin_headers: Any
) -> None:
    _user(container, client, sysadmin_headers)
    # Another device signed in (no 2FA yet: the password gives the full pair).
    elsewhere = client.post("/api/auth/login", json={"username": EMAIL, "password": PASSWORD})
    assert elsewhere.status_code == 200, elsewhere.text
    other_device = {"X-Authorization": "Bearer " + elsewhere.json()["token"]}
    assert client.get("/api/auth/user", headers=other_device).status_code == 200

    # The 2FA settings are held back: the card below them must work before they arrive (a click
    # made while the page was still loading them used to go nowhere).
    held: list[Any] = []
    page.route("**/api/2fa/account/settings", lambda route: held.append(route))
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/security$"))
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_role("status").filter(has_text="Signed out of 1 other session.")).to_be_visible()
    assert client.get("/api/auth/user", headers=other_device).status_code == 401
    assert held and page.locator("#twofa-card").is_hidden()
    for route in held:
        route.continue_()
    page.unroute("**/api/2fa/account/settings")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()

    # This browser is still signed in; a second click finds nothing left to end.
    page.reload()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_text("There were no other sessions.")).to_be_visible()
