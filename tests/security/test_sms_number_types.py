"""A17 (SMS pumping): a code goes only to a number that is valid for its region and of a type that
reaches one person's phone, by libphonenumber, not to any string of E.164 shape.

Premium-rate, shared-cost, toll-free, VoIP, personal (forwarding), pager, UAN and voicemail
numbers, fixed lines, and numbers that no region's plan has (the fictional +1 555 0100...) are
refused at enrollment (submit and verify-and-save) and at every code send, unless the SMS
settings' `allowedNumberTypes` allows their type; the default is MOBILE and
FIXED_LINE_OR_MOBILE (plans such as the United States' do not tell the two apart).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.security.helpers import pv_of, send
from tests.support import outbox
from tests.twofa_helpers import enroll_delivered
from twostep.services.administration import admin_settings
from twostep.services.records import stored_settings
from twostep.storage import tables as t

REFUSED = {
    "premium-rate (US 900)": "+19002345678",
    "premium-rate (UK 09)": "+449012345678",
    "premium-rate (FR 089)": "+33891123456",
    "shared-cost (FR 0884)": "+33884012345",
    "toll-free (US 800)": "+18002345678",
    "VoIP (UK 056)": "+445612345678",
    "VoIP (international network +882)": "+882160001234",
    "personal number (UK 070)": "+447012345678",
    "pager (UK 076)": "+447640123456",
    "UAN (UK 055)": "+445512345678",
    "fixed line (DE)": "+4930123456",
    "fixed line (UK)": "+442012345678",
    "not in any plan (US 555 area)": "+15550001111",
    "not in any plan (UK drama range)": "+447700900123",
}
ACCEPTED = {
    "mobile (UK)": "+447400123456",
    "mobile (DE)": "+4915123456789",
    "mobile (FR)": "+33612345678",
    "mobile (UA)": "+380501253652",
    "fixed line or mobile (US)": "+12015550123",
}
TWILIO = {
    "type": "TWILIO",
    "accountSid": "AC" + "0" * 32,
    "accountToken": "token-0123456789",
    "numberFrom": "+15005550006",
}


def _body(number: str) -> dict[str, Any]:
    return {"providerType": "SMS", "useByDefault": False, "phoneNumber": number}


def _sms(container: Any) -> list[str]:
    return [m["to"] for m in outbox(container.config) if m["channel"] == "sms"]


def _pending(container: Any) -> list[Any]:
    with container.db.read() as conn:
        return list(conn.execute(select(t.twofa_pending)).all())


def _save_sms_settings(container: Any, **fields: Any) -> None:
    with container.db.read() as conn:
        row = stored_settings.get_row(conn, "sms")
    body: dict[str, Any] = {"key": "sms", "jsonValue": {**TWILIO, **fields}}
    if row is not None:
        body["id"] = {"entityType": "ADMIN_SETTINGS", "id": str(row.id)}
    admin_settings.save(container, body)


@pytest.mark.parametrize("number", REFUSED.values(), ids=REFUSED.keys())
def test_enrollment_refuses_numbers_that_are_not_a_personal_phone(
    container, client, victim, number: str
) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/2fa/account/config/submit", headers=victim.headers, json=_body(number))
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"status", "message", "errorCode", "timestamp"}
    assert r.json()["message"].startswith("Validation error: phoneNumber ")
    assert _sms(container) == [] and _pending(container) == []
    r = client.post(
        "/api/2fa/account/config?verificationCode=123456",
        headers=victim.headers,
        json=_body(number),
    )
    assert r.status_code == 400 and r.json()["message"].startswith("Validation error: phoneNumber ")


def test_the_refusal_says_what_the_number_is(client, victim) -> None:  # type: ignore[no-untyped-def]
    def message(number: str) -> str:
        r = client.post(
            "/api/2fa/account/config/submit", headers=victim.headers, json=_body(number)
        )
        return str(r.json()["message"])

    assert message("+19002345678") == (
        "Validation error: phoneNumber is a premium-rate number; SMS codes go only to mobile numbers"
    )
    assert message("+15550001111") == "Validation error: phoneNumber is not a valid phone number"
    assert message("15550001111") == "Validation error: phoneNumber is not of E.164 format"


@pytest.mark.parametrize("number", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_enrollment_accepts_mobile_numbers(container, client, victim, number: str) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "SMS", number)
    assert _sms(container) == [number]


def test_the_sms_settings_choose_the_types(container, client, sysadmin_headers, victim) -> None:  # type: ignore[no-untyped-def]
    """allowedNumberTypes (twostep's optional field in ThingsBoard's SMS settings): a landline
    once it is listed; an unknown type name or an empty list is refused on save."""
    landline = "+4930123456"
    r = client.post("/api/2fa/account/config/submit", headers=victim.headers, json=_body(landline))
    assert r.status_code == 400
    for bad in (["MOBILE", "SATELLITE"], [], "MOBILE", [1]):
        r = client.post(
            "/api/admin/settings",
            headers=sysadmin_headers,
            json={"key": "sms", "jsonValue": {**TWILIO, "allowedNumberTypes": bad}},
        )
        assert r.status_code == 400 and "allowedNumberTypes" in r.json()["message"], r.text
    allowed = ["MOBILE", "FIXED_LINE_OR_MOBILE", "FIXED_LINE"]
    r = client.post(
        "/api/admin/settings",
        headers=sysadmin_headers,
        json={"key": "sms", "jsonValue": {**TWILIO, "allowedNumberTypes": allowed}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["jsonValue"]["allowedNumberTypes"] == allowed
    enroll_delivered(client, container, victim.headers, "SMS", landline)
    r = client.post(
        "/api/2fa/account/config/submit", headers=victim.headers, json=_body("+19002345678")
    )
    assert r.status_code == 400  # premium-rate is still not listed


def test_a_code_is_not_sent_to_an_enrolled_number_the_settings_no_longer_allow(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    """Every send is checked, not only enrollment: a number enrolled under wider settings (or
    before this check existed) gets no more codes once its type is no longer allowed."""
    number = "+12015550123"  # FIXED_LINE_OR_MOBILE
    enroll_delivered(client, container, victim.headers, "SMS", number)
    _save_sms_settings(container, allowedNumberTypes=["MOBILE"])
    sent = _sms(container)
    r = send(client, pv_of(client, victim), "SMS")
    assert r.status_code == 400, r.text
    assert "SMS codes go only to mobile numbers" in r.json()["message"]
    assert _sms(container) == sent
    with container.db.read() as conn:
        audit = conn.execute(
            select(t.audit_log.c.action_failure_details).where(
                t.audit_log.c.action_type == "SMS_SENT", t.audit_log.c.action_status == "FAILURE"
            )
        ).all()
    assert any("not allowed" in (row[0] or "") for row in audit), audit
