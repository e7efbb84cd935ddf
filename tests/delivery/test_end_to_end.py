"""Delivery end to end through the API, with real peers on 127.0.0.1 (issue 4, must-shows 2 and 3):
tb-rest-client saves mail and SMS settings and sends test messages; codes and notifications of a
real login travel over SMTP (aiosmtpd) and Twilio's API (local stub)."""

from __future__ import annotations

import re
from typing import Any

from tb_rest_client.models import AdminSettings, TestSmsRequest
from tb_rest_client.rest_client import RestClient

from tests.delivery.helpers import mail_settings, stored_id
from tests.delivery.test_sms_transports import twilio_config
from tests.factories import bearer, create_user, platform
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import check, enroll_totp, full_headers, pre_token

OWNER = "owner@example.com"
PASSWORD = "owner-Pa55word"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


def _texts(peer: Any, to: str) -> list[str]:
    return [m.part("plain") for m in peer.messages if to in m.rcpt_tos]


def test_tb_rest_client_saves_settings_and_sends_test_messages(real_delivery, live_server, smtp_plain, twilio) -> None:  # type: ignore[no-untyped-def]
    admin = RestClient(live_server.url)
    admin.login(SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    mail = mail_settings(smtp_plain.port)
    # A fresh install has mail settings (as ThingsBoard): the client edits what it reads.
    installed = admin.get_admin_settings("mail")
    assert installed.json_value["smtpHost"] == "localhost"
    installed.json_value = mail
    saved = admin.save_admin_settings(installed)
    assert saved.key == "mail" and "password" not in saved.json_value
    admin.send_test_mail(AdminSettings(key="mail", json_value=mail))
    received = [m for m in smtp_plain.messages if SYSADMIN_EMAIL in m.rcpt_tos]
    assert len(received) == 1 and received[0].message["Subject"] == "Test message from Thingsboard"

    sms = twilio_config(twilio.url)
    admin.save_admin_settings(AdminSettings(key="sms", json_value=sms))
    assert admin.get_admin_settings("sms").json_value["accountToken"] != sms["accountToken"]  # masked
    # The client's Twilio model has no endpoint override; a plain dict carries it.
    admin.send_test_sms(TestSmsRequest(provider_configuration=sms, number_to="+12015551111", message="Test"))
    assert [(m["To"], m["Body"]) for m in twilio.messages] == [("+12015551111", "Test")]


def _configure(client: Any, admin: dict[str, str], smtp_port: int, twilio_url: str) -> None:
    for key, value in (("mail", mail_settings(smtp_port)), ("sms", twilio_config(twilio_url))):
        body = {"key": key, "jsonValue": value, **stored_id(client, admin, key)}
        r = client.post("/api/admin/settings", headers=admin, json=body)
        assert r.status_code == 200, r.text
    security = client.get("/api/admin/securitySettings", headers=admin).json()
    security["userLockoutNotificationEmail"] = "security@example.com"
    assert client.post("/api/admin/securitySettings", headers=admin, json=security).status_code == 200
    r = client.post("/api/2fa/settings", headers=admin, json=platform(maxVerificationFailuresBeforeUserLockout=3))
    assert r.status_code == 200, r.text


def test_codes_and_notifications_over_smtp_and_twilio(real_delivery, client, sysadmin_headers, smtp_plain, twilio) -> None:  # type: ignore[no-untyped-def]
    _configure(client, sysadmin_headers, smtp_plain.port, twilio.url)
    create_user(real_delivery, OWNER, PASSWORD)
    headers = full_headers(client, OWNER, PASSWORD)
    enroll_totp(client, headers)

    # SMS enrollment and login through Twilio's Messages API.
    body = {"providerType": "SMS", "useByDefault": False, "phoneNumber": "+12015552222"}
    assert client.post("/api/2fa/account/config/submit", headers=headers, json=body).status_code == 200
    code = re.search(r"\d{6}", twilio.messages[-1]["Body"]).group(0)  # type: ignore[union-attr]
    assert client.post(f"/api/2fa/account/config?verificationCode={code}", headers=headers, json=body).status_code == 200
    pv = pre_token(client, OWNER, PASSWORD)
    assert client.post("/api/auth/2fa/verification/send?providerType=SMS", headers=pv).status_code == 200
    sms = twilio.messages[-1]
    assert sms["To"] == "+12015552222" and sms["Body"].startswith("Verification code: ")
    assert check(client, pv, "SMS", sms["Body"][-6:]).status_code == 200

    # Email enrollment over SMTP.
    body = {"providerType": "EMAIL", "useByDefault": False, "email": OWNER}
    assert client.post("/api/2fa/account/config/submit", headers=headers, json=body).status_code == 200
    code = re.search(r"Your verification code: (\d{6})", _texts(smtp_plain, OWNER)[-1]).group(1)  # type: ignore[union-attr]
    assert client.post(f"/api/2fa/account/config?verificationCode={code}", headers=headers, json=body).status_code == 200

    # A wrong code: exactly one notification to the owner, with time, address and browser.
    before = len(_texts(smtp_plain, OWNER))
    pv = bearer(client.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                            headers={"User-Agent": BROWSER_UA}).json()["token"])
    for _ in range(2):
        r = client.post("/api/auth/2fa/verification/check?providerType=TOTP&verificationCode=000000",
                        headers={**pv, "User-Agent": BROWSER_UA})
        assert r.status_code == 400
    notes = _texts(smtp_plain, OWNER)[before:]
    assert len(notes) == 1, notes
    assert "Chrome 120" in notes[0] and "testclient" in notes[0] and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", notes[0])

    # The third failure locks: the owner and the administrator address are told.
    r = check(client, pv, "TOTP", "000000")
    assert r.status_code == 401
    assert any("locked" in text.lower() for text in _texts(smtp_plain, OWNER)[before:])
    admin_mails = _texts(smtp_plain, "security@example.com")
    assert len(admin_mails) == 1 and OWNER in admin_mails[0]
