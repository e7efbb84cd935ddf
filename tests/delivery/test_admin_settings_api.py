"""The admin settings API (spec platform §3): generic GET/POST with ThingsBoard's rules, secrets
write-only and encrypted at rest, protected keys refused, testMail and testSms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.delivery.helpers import mail_settings, raw_settings, stored_id
from tests.delivery.test_sms_transports import twilio_config
from tests.peers import smtp as smtp_peer
from tests.peers import twilio as twilio_peer
from tests.peers.net import closed_port
from tests.support import SYSADMIN_EMAIL
from twostep.channels.mail_presets import INSTALL_DEFAULTS
from twostep.channels.settings_secrets import MASK
from twostep.storage import tables as t

URL = "/api/admin/settings"


def save(
    client: Any, headers: dict[str, str], key: str, value: dict[str, Any], **extra: Any
) -> Any:
    return client.post(URL, headers=headers, json={"key": key, "jsonValue": value, **extra})


def assert_error(response: Any, status: int, code: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["errorCode"] == code
    if message is not None:
        assert body["message"] == message


def test_missing_key_is_404(client: Any, sysadmin_headers: dict[str, str]) -> None:
    r = client.get(f"{URL}/sms", headers=sysadmin_headers)
    assert_error(r, 404, 32, "No Administration settings found for key: sms")


def test_requires_sysadmin(client: Any) -> None:
    assert client.get(f"{URL}/mail").status_code == 401
    assert client.post(URL, json={"key": "general", "jsonValue": {}}).status_code == 401


def test_mail_secrets_are_write_only_and_sealed(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str]
) -> None:
    value = mail_settings(
        2525,
        username="mailer",
        password="Mail-Pa55-secret",
        enableProxy=False,
        proxyPassword="Proxy-Pa55-secret",
        clientSecret="Client-Secret-0001",
        refreshToken="Refresh-Token-0001",
    )
    r = save(client, sysadmin_headers, "mail", value, **stored_id(client, sysadmin_headers, "mail"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["key"] == "mail" and body["id"]["entityType"] == "ADMIN_SETTINGS"
    assert body["tenantId"] == {
        "entityType": "TENANT",
        "id": "13814000-1dd2-11b2-8080-808080808080",
    }
    for shown in (
        body["jsonValue"],
        client.get(f"{URL}/mail", headers=sysadmin_headers).json()["jsonValue"],
    ):
        assert "password" not in shown and "refreshToken" not in shown  # as ThingsBoard
        assert shown["proxyPassword"] == MASK and shown["clientSecret"] == MASK
        assert shown["smtpHost"] == "127.0.0.1" and shown["username"] == "mailer"

    raw = raw_settings(real_delivery, "mail")
    text = json.dumps(raw)
    for secret in (
        "Mail-Pa55-secret",
        "Proxy-Pa55-secret",
        "Client-Secret-0001",
        "Refresh-Token-0001",
    ):
        assert secret not in text
    assert raw["password"].startswith("v1:")
    assert (
        real_delivery.box.open(raw["password"], context="admin_settings:mail:password")
        == "Mail-Pa55-secret"
    )
    # A ciphertext only opens under its own field's context.
    with pytest.raises(ValueError):
        real_delivery.box.open(raw["password"], context="admin_settings:mail:proxyPassword")


def test_mail_password_merge_on_absent_and_rebind(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], smtp_starttls: Any
) -> None:
    value = mail_settings(
        smtp_starttls.port, enableTls=True, username=smtp_peer.USERNAME, password=smtp_peer.PASSWORD
    )
    first = save(
        client, sysadmin_headers, "mail", value, **stored_id(client, sysadmin_headers, "mail")
    ).json()
    ident = {"id": first["id"]}

    # Re-POST without id: ThingsBoard's duplicate rule.
    assert_error(
        save(client, sysadmin_headers, "mail", value),
        400,
        31,
        "Admin settings with such name already exists!",
    )

    # Re-POST what GET returned (no password): the stored password is kept and still works.
    shown = client.get(f"{URL}/mail", headers=sysadmin_headers).json()
    r = save(client, sysadmin_headers, "mail", {**shown["jsonValue"], "timeout": "4000"}, **ident)
    assert r.status_code == 200, r.text
    real_delivery.delivery.send_email(
        "user@example.com",
        "twofa_code",
        {"code": "1", "expiration_seconds": 1, "target_email": "u"},
    )
    assert smtp_starttls.messages[-1].authenticated

    # Pointing the stored password at another server requires entering it again.
    moved = {**shown["jsonValue"], "smtpHost": "mail.attacker.example"}
    assert_error(
        save(client, sysadmin_headers, "mail", moved, **ident),
        400,
        31,
        "password must be entered again because smtpHost changed",
    )
    r = save(client, sysadmin_headers, "mail", {**moved, "password": "new-Pa55"}, **ident)
    assert r.status_code == 200


def test_generic_rules(real_delivery: Any, client: Any, sysadmin_headers: dict[str, str]) -> None:
    general = save(
        client, sysadmin_headers, "general", {"baseUrl": "https://tb.example.com"}
    ).json()
    assert_error(
        save(client, sysadmin_headers, "other", {"x": 1}, id=general["id"]),
        400,
        31,
        "Changing key of admin settings entry is prohibited!",
    )
    assert_error(save(client, sysadmin_headers, " ", {"x": 1}), 400, 31, "Key should be specified!")
    r = client.post(URL, headers=sysadmin_headers, json={"key": "general2"})
    assert_error(r, 400, 31, "Json value should be specified!")
    r = save(client, sysadmin_headers, "general", {"baseUrl": "x"}, id={"id": general["id"]["id"]})
    assert_error(r, 400, 31, "Missing entityType or id!")
    r = save(
        client, sysadmin_headers, "general", {"baseUrl": "https://b.example.com"}, id=general["id"]
    )
    assert r.status_code == 200 and r.json()["jsonValue"] == {"baseUrl": "https://b.example.com"}
    assert client.get(f"{URL}/general", headers=sysadmin_headers).json()["id"] == general["id"]


@pytest.mark.parametrize("key", ["jwt", "securitySettings", "twoFaSettings"])
def test_protected_keys_are_refused(
    client: Any, sysadmin_headers: dict[str, str], key: str
) -> None:
    assert_error(client.get(f"{URL}/{key}", headers=sysadmin_headers), 400, 31)
    assert_error(save(client, sysadmin_headers, key, {"x": 1}), 400, 31)


def test_invalid_settings_are_400_and_not_saved(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str]
) -> None:
    assert_error(
        save(
            client,
            sysadmin_headers,
            "mail",
            mail_settings(25, smtpPort="abc"),
            **stored_id(client, sysadmin_headers, "mail"),
        ),
        400,
        31,
        "Invalid smtp port value: abc",
    )
    assert_error(
        save(client, sysadmin_headers, "sms", {"type": "TWILIO", "accountSid": "AC1"}),
        400,
        31,
        "Invalid twilio sms provider configuration: accountSid, accountToken and numberFrom "
        "should be specified!",
    )
    assert_error(
        save(client, sysadmin_headers, "sms", {**twilio_config("http://x"), "numberFrom": "12345"}),
        400,
        31,
        "Invalid phone number format. Phone number must be in E.164 format/Phone Number's SID/"
        "Messaging Service SID.",
    )
    assert_error(save(client, sysadmin_headers, "sms", {"type": "CARRIER_PIGEON"}), 400, 31)
    assert raw_settings(real_delivery, "mail") == INSTALL_DEFAULTS
    assert raw_settings(real_delivery, "sms") is None


def test_sms_secrets_masked_encrypted_and_kept(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], twilio: Any
) -> None:
    r = save(client, sysadmin_headers, "sms", twilio_config(twilio.url))
    assert r.status_code == 200, r.text
    shown = client.get(f"{URL}/sms", headers=sysadmin_headers).json()
    assert shown["jsonValue"]["accountToken"] == MASK
    assert twilio_peer.AUTH_TOKEN not in json.dumps(raw_settings(real_delivery, "sms"))

    # The form echoes the mask back: the stored token is kept and still sends.
    r = save(client, sysadmin_headers, "sms", shown["jsonValue"], id=shown["id"])
    assert r.status_code == 200, r.text
    real_delivery.delivery.send_sms("+12015551111", "hello")
    assert twilio.messages[-1]["Body"] == "hello"

    # Another account with the old token: refused.
    other = {**shown["jsonValue"], "accountSid": "AC" + "f" * 32}
    assert_error(
        save(client, sysadmin_headers, "sms", other, id=shown["id"]),
        400,
        31,
        "accountToken must be entered again because accountSid changed",
    )


def test_test_mail_goes_to_the_caller(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], smtp_plain: Any
) -> None:
    r = client.post(
        f"{URL}/testMail",
        headers=sysadmin_headers,
        json={"key": "mail", "jsonValue": mail_settings(smtp_plain.port)},
    )
    assert r.status_code == 200, r.text
    [got] = smtp_plain.messages
    assert got.rcpt_tos == [SYSADMIN_EMAIL]
    assert got.message["Subject"] == "Test message from Thingsboard"
    assert "outgoing mail settings were set up correctly" in got.part("plain")
    assert raw_settings(real_delivery, "mail") == INSTALL_DEFAULTS  # testing does not save


def test_test_mail_uses_the_stored_password(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], smtp_starttls: Any
) -> None:
    value = mail_settings(
        smtp_starttls.port, enableTls=True, username=smtp_peer.USERNAME, password=smtp_peer.PASSWORD
    )
    ident = stored_id(client, sysadmin_headers, "mail")
    assert save(client, sysadmin_headers, "mail", value, **ident).status_code == 200
    unsaved = {k: v for k, v in value.items() if k != "password"}
    r = client.post(
        f"{URL}/testMail", headers=sysadmin_headers, json={"key": "mail", "jsonValue": unsaved}
    )
    assert r.status_code == 200, r.text
    assert smtp_starttls.messages[-1].authenticated


def test_test_mail_errors(client: Any, sysadmin_headers: dict[str, str]) -> None:
    r = client.post(
        f"{URL}/testMail",
        headers=sysadmin_headers,
        json={"key": "mail", "jsonValue": mail_settings(closed_port())},
    )
    assert_error(r, 500, 2)
    assert r.json()["message"].startswith("Unable to send mail: ")
    r = client.post(
        f"{URL}/testMail",
        headers=sysadmin_headers,
        json={"key": "mail", "jsonValue": mail_settings(25, smtpPort="x1")},
    )
    assert_error(r, 400, 31, "Invalid smtp port value: x1")
    # Another key: accepted and ignored, as ThingsBoard does.
    r = client.post(
        f"{URL}/testMail", headers=sysadmin_headers, json={"key": "general", "jsonValue": {}}
    )
    assert r.status_code == 200


def _sms_audit(container: Any) -> list[Any]:
    with container.db.read() as conn:
        return list(
            conn.execute(
                select(t.audit_log)
                .where(t.audit_log.c.action_type == "SMS_SENT")
                .order_by(t.audit_log.c.created_time)
            )
        )


def test_test_sms_success_and_audit(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], twilio: Any
) -> None:
    r = client.post(
        f"{URL}/testSms",
        headers=sysadmin_headers,
        json={
            "providerConfiguration": twilio_config(twilio.url),
            "numberTo": "+12015551111",
            "message": "Test",
        },
    )
    assert r.status_code == 200, r.text
    assert twilio.messages[-1]["To"] == "+12015551111" and twilio.messages[-1]["Body"] == "Test"
    [entry] = _sms_audit(real_delivery)
    assert entry.action_status == "SUCCESS" and entry.user_name == SYSADMIN_EMAIL
    assert entry.action_data == {"recipientNumber": "+12015551111"}
    assert raw_settings(real_delivery, "sms") is None


def test_test_sms_failures(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], twilio: Any
) -> None:
    r = client.post(
        f"{URL}/testSms",
        headers=sysadmin_headers,
        json={
            "providerConfiguration": twilio_config(twilio.url),
            "numberTo": "5550001111",
            "message": "Test",
        },
    )
    assert_error(
        r,
        500,
        2,
        "Unable to send SMS: Invalid phone number format. Phone number must be in E.164 format.",
    )
    r = client.post(
        f"{URL}/testSms",
        headers=sysadmin_headers,
        json={
            "providerConfiguration": {"type": "AWS_SNS", "accessKeyId": "x"},
            "numberTo": "+12015551111",
            "message": "Test",
        },
    )
    assert_error(r, 500, 2)
    assert r.json()["message"].startswith(
        "Unable to send SMS: Invalid AWS sms provider configuration"
    )
    entries = _sms_audit(real_delivery)
    assert [e.action_status for e in entries] == ["FAILURE", "FAILURE"]
    assert "E.164" in entries[0].action_failure_details


def test_test_sms_with_masked_token_uses_the_stored_one(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], twilio: Any
) -> None:
    assert save(client, sysadmin_headers, "sms", twilio_config(twilio.url)).status_code == 200
    shown = client.get(f"{URL}/sms", headers=sysadmin_headers).json()["jsonValue"]
    r = client.post(
        f"{URL}/testSms",
        headers=sysadmin_headers,
        json={"providerConfiguration": shown, "numberTo": "+12015551111", "message": "Hi"},
    )
    assert r.status_code == 200, r.text
    # The stored token never follows a changed endpoint.
    moved = {**shown, "endpointUrl": "http://127.0.0.1:9"}
    r = client.post(
        f"{URL}/testSms",
        headers=sysadmin_headers,
        json={"providerConfiguration": moved, "numberTo": "+12015551111", "message": "Hi"},
    )
    assert_error(
        r,
        500,
        2,
        "Unable to send SMS: accountToken must be entered again because endpointUrl changed",
    )
