"""The administrator's test SMS (POST /api/admin/settings/testSms) goes only to numbers a code may
go to (domain/phone_numbers.py), through every provider: ThingsBoard checks nothing for SMPP and
only the E.164 shape for Twilio and SNS, so the test was a way to text a premium-rate number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.delivery.test_admin_settings_api import URL, assert_error, save
from tests.delivery.test_sms_transports import smpp_config, twilio_config
from twostep.storage import tables as t

PREMIUM = "+19002345678"
MOBILE = "+447400123456"


def _test_sms(client: Any, headers: dict[str, str], provider: dict[str, Any], number: str) -> Any:
    return client.post(
        f"{URL}/testSms",
        headers=headers,
        json={"providerConfiguration": provider, "numberTo": number, "message": "Test"},
    )


def test_the_test_sms_refuses_a_premium_rate_number(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], twilio: Any
) -> None:
    r = _test_sms(client, sysadmin_headers, twilio_config(twilio.url), PREMIUM)
    assert_error(
        r,
        500,
        2,
        "Unable to send SMS: the phone number is a premium-rate number; "
        "SMS codes go only to mobile numbers",
    )
    assert twilio.messages == []
    with real_delivery.db.read() as conn:
        [entry] = conn.execute(
            select(t.audit_log).where(t.audit_log.c.action_type == "SMS_SENT")
        ).all()
    assert entry.action_status == "FAILURE" and entry.action_data == {"recipientNumber": PREMIUM}
    r = _test_sms(client, sysadmin_headers, twilio_config(twilio.url), MOBILE)
    assert r.status_code == 200, r.text
    assert [m["To"] for m in twilio.messages] == [MOBILE]


def test_the_test_sms_over_smpp_needs_a_valid_number_too(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], smsc: Any
) -> None:
    for number in (PREMIUM, "19002345678", "+882160001234"):
        r = _test_sms(client, sysadmin_headers, smpp_config(smsc.port), number)
        assert_error(r, 500, 2)
        assert r.json()["message"].startswith("Unable to send SMS: "), r.text
    assert smsc.submitted == []
    r = _test_sms(client, sysadmin_headers, smpp_config(smsc.port), MOBILE)
    assert r.status_code == 200, r.text
    assert [s.destination for s in smsc.submitted] == [MOBILE[1:]]  # international TON


def test_the_test_sms_follows_the_number_types_of_the_settings(
    real_delivery: Any, client: Any, sysadmin_headers: dict[str, str], twilio: Any
) -> None:
    """The submitted settings' allowedNumberTypes, else the stored ones."""
    landline = "+4930123456"
    submitted = twilio_config(twilio.url, allowedNumberTypes=["MOBILE", "FIXED_LINE"])
    assert _test_sms(client, sysadmin_headers, submitted, landline).status_code == 200
    assert (
        _test_sms(client, sysadmin_headers, twilio_config(twilio.url), landline).status_code == 500
    )
    assert save(client, sysadmin_headers, "sms", submitted).status_code == 200
    assert (
        _test_sms(client, sysadmin_headers, twilio_config(twilio.url), landline).status_code == 200
    )
    assert [m["To"] for m in twilio.messages] == [landline, landline]
