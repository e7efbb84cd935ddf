"""Issue 5, must-show 1: SMS and email codes of a browser login, read from the real test peers
(Twilio's Messages API stub and aiosmtpd on 127.0.0.1), not from the development outbox."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.delivery.helpers import mail_settings, stored_id
from tests.delivery.test_sms_transports import twilio_config
from tests.e2e.helpers import sign_in, sign_out
from tests.factories import create_user, platform
from tests.peers.fixtures import smtp_plain, tls_cert, twilio  # noqa: F401  (fixtures)
from tests.twofa_helpers import enroll_totp, full_headers

EMAIL = "peer-user@example.com"
PASSWORD = "peer-user-Pa55word"
PHONE = "+12015553333"


def _wait(predicate: Any, what: str) -> Any:
    deadline = time.time() + 10
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"no {what} arrived")


def _sms_code(twilio: Any, after: int) -> str:
    messages = _wait(lambda: [m for m in twilio.messages[after:] if m["To"] == PHONE], "SMS")
    return re.search(r"\d{6}", messages[-1]["Body"]).group(0)  # type: ignore[union-attr]


def _mail_code(smtp: Any, after: int) -> str:
    mails = _wait(lambda: [m for m in smtp.messages[after:] if EMAIL in m.rcpt_tos], "email")
    return re.search(r"Your verification code: (\d{6})", mails[-1].part("plain")).group(1)  # type: ignore[union-attr]


def test_sms_and_email_codes_from_the_peers(page: Page, container, client, sysadmin_headers, smtp_plain, twilio) -> None:  # type: ignore[no-untyped-def]
    container.config.outbox = False  # real transports (the container fixture restores the config)
    container.config.sms_timeout_s = 2.0
    for key, value in (("mail", mail_settings(smtp_plain.port)), ("sms", twilio_config(twilio.url))):
        body = {"key": key, "jsonValue": value, **stored_id(client, sysadmin_headers, key)}
        assert client.post("/api/admin/settings", headers=sysadmin_headers, json=body).status_code == 200
    assert client.post("/api/2fa/settings", headers=sysadmin_headers,
                       json=platform(minVerificationCodeSendPeriod=5)).status_code == 200
    create_user(container, EMAIL, PASSWORD)
    headers = full_headers(client, EMAIL, PASSWORD)
    enroll_totp(client, headers)
    for kind, field, target in (("SMS", "phoneNumber", PHONE), ("EMAIL", "email", EMAIL)):
        body = {"providerType": kind, "useByDefault": kind == "SMS", field: target}
        sent_sms, sent_mail = len(twilio.messages), len(smtp_plain.messages)
        assert client.post("/api/2fa/account/config/submit", headers=headers, json=body).status_code == 200
        code = _sms_code(twilio, sent_sms) if kind == "SMS" else _mail_code(smtp_plain, sent_mail)
        r = client.post(f"/api/2fa/account/config?verificationCode={code}", headers=headers, json=body)
        assert r.status_code == 200, r.text

    # SMS is the main method: its code goes out on arrival at "Verify your identity".
    before = len(twilio.messages)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    page.get_by_label("SMS code").fill(_sms_code(twilio, before))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))

    # Email through "Try another way", the code read from the SMTP server.
    sign_out(page)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/mfa$"))
    before = len(smtp_plain.messages)
    page.get_by_role("button", name="Try another way").click()
    page.get_by_role("button", name=re.compile(r"^Email")).click()
    page.get_by_label("Email code").fill(_mail_code(smtp_plain, before))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))
