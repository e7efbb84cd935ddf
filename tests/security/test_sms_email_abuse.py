"""A17 SMS pumping / SMS and email bombing, A18 header, template and link injection
(spec/security.md §4).

The defences (A17): the login send is possible only with a pre-verification token and only to the
enrolled destination, at most once per minVerificationCodeSendPeriod per user and provider (a new
login does not reset it); every code send (login and setup) passes the send caps of
services/notifications/send_caps.py - per user, per destination, per client, per number block, per country, a
global budget - and an optional country allow-list; a new code replaces the old one.

The defences (A18): phone numbers must be E.164 and email addresses one plain addr-spec; headers
go through the email package's strict policy; templates are rendered in a sandbox with user data
as variables (SMS templates by plain `${code}` substitution); links in mails should come from the
configured base URL.

Number types (premium-rate, VoIP...: libphonenumber) are in test_sms_number_types.py. Not
applicable: bot challenges (no unauthenticated send exists); CSRF on send (bearer API, see
test_mfa_management.py).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete

from tests.security.helpers import check, last_code_to, make_account, pv_of, send
from tests.support import deliver_queued_mail, outbox
from tests.twofa_helpers import enroll_delivered, save_platform
from twostep.storage import tables as t

CAPS = (
    "sms_cap_per_user", "sms_cap_per_destination", "sms_cap_per_client", "sms_cap_per_block",
    "sms_cap_per_country", "sms_cap_global", "email_cap_per_user", "email_cap_per_destination",
    "email_cap_per_client", "email_cap_global",
)  # fmt: skip


def _only_cap(container, name: str, value: str = "3:3600") -> None:  # type: ignore[no-untyped-def]
    for cap in CAPS:
        setattr(container.config, cap, value if cap == name else "")


def _submit(client, headers, kind: str, target: str):  # type: ignore[no-untyped-def]
    field = "phoneNumber" if kind == "SMS" else "email"
    return client.post(
        "/api/2fa/account/config/submit",
        headers=headers,
        json={"providerType": kind, field: target},
    )


def _users(container, client, n: int):  # type: ignore[no-untyped-def]
    return [
        make_account(container, client, f"user{i}@example.com", "user-Pa55word", totp=False)
        for i in range(n)
    ]


# -- A17 -----------------------------------------------------------------------------------------------


def test_login_codes_go_out_once_per_period_whatever_the_login_or_client(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "SMS", "+12015551111")
    before = len(outbox(container.config))
    pv = pv_of(client, victim)
    assert send(client, pv, "SMS").status_code == 200
    assert send(client, pv, "SMS").status_code == 429
    assert send(client, pv_of(client, victim), "SMS").status_code == 429
    assert (
        send(client, pv_of(client, victim), "SMS", **{"X-Forwarded-For": "203.0.113.9"}).status_code
        == 429
    )
    assert len(outbox(container.config)) == before + 1


def test_login_codes_go_only_to_the_enrolled_destination(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "SMS", "+12015551111")
    pv = pv_of(client, victim)
    r = client.post(
        "/api/auth/2fa/verification/send",
        headers=pv,
        params={"providerType": "SMS", "phoneNumber": "+900123456789", "to": "+900123456789"},
        json={"phoneNumber": "+900123456789", "email": "attacker@evil.example"},
    )
    assert r.status_code == 200
    assert outbox(container.config)[-1]["to"] == "+12015551111"


def test_login_codes_need_the_pre_verification_token(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "SMS", "+12015551111")
    before = len(outbox(container.config))
    assert send(client, {}, "SMS").status_code == 401
    assert send(client, victim.headers, "SMS").status_code == 403
    assert len(outbox(container.config)) == before


def test_a_new_code_replaces_the_old_one(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    pv = pv_of(client, victim)
    assert send(client, pv, "EMAIL").status_code == 200
    old = last_code_to(container, "inbox@example.com")
    with (
        container.db.transaction() as conn
    ):  # stands in for waiting out minVerificationCodeSendPeriod
        conn.execute(delete(t.rate_limit).where(t.rate_limit.c.key.like("2fa-send:%")))
    assert send(client, pv, "EMAIL").status_code == 200
    new = last_code_to(container, "inbox@example.com")
    if new != old:
        assert check(client, pv, "EMAIL", old).status_code == 400
    assert check(client, pv, "EMAIL", new).status_code == 200


CAP_CASES = {
    # cap: (channel, destinations per send, same user for every send?)
    "sms_cap_per_user": (
        "SMS",
        ["+12015551001", "+447400900002", "+4915100000003", "+33612345604"],
        True,
    ),
    "sms_cap_per_destination": ("SMS", ["+12015551111"] * 4, False),
    "sms_cap_per_block": (
        "SMS",
        ["+12015551001", "+12015551002", "+12015551003", "+12015551004"],
        False,
    ),
    "sms_cap_per_country": (
        "SMS",
        ["+447400900001", "+447411900002", "+447422900003", "+447433900004"],
        False,
    ),
    "sms_cap_global": (
        "SMS",
        ["+12015551001", "+447400900002", "+4915100000003", "+33612345604"],
        False,
    ),
    "email_cap_per_user": (
        "EMAIL",
        ["a@example.com", "b@example.org", "c@example.net", "d@example.com"],
        True,
    ),
    "email_cap_per_destination": ("EMAIL", ["same@example.com"] * 4, False),
    "email_cap_global": (
        "EMAIL",
        ["a@example.com", "b@example.org", "c@example.net", "d@example.com"],
        False,
    ),
}


@pytest.mark.parametrize("cap", list(CAP_CASES))
def test_send_caps(container, client, platform, cap) -> None:  # type: ignore[no-untyped-def]
    """Only `cap` is on (3 per hour); the other dimensions vary, so only `cap` can stop the 4th."""
    kind, targets, same_user = CAP_CASES[cap]
    users = _users(container, client, 1 if same_user else 4)
    _only_cap(container, cap)
    before = len(outbox(container.config))
    statuses = [
        _submit(client, users[0 if same_user else i].headers, kind, target).status_code
        for i, target in enumerate(targets)
    ]
    assert statuses == [200, 200, 200, 429]
    assert len(outbox(container.config)) == before + 3


def test_the_country_allow_list(container, client, platform) -> None:  # type: ignore[no-untyped-def]
    container.config.sms_allowed_country_codes = "1,44"
    (user,) = _users(container, client, 1)
    assert _submit(client, user.headers, "SMS", "+12015551111").status_code == 200
    assert _submit(client, user.headers, "SMS", "+447400900001").status_code == 200
    r = _submit(client, user.headers, "SMS", "+4915123456789")  # a valid German mobile
    assert r.status_code == 400 and "country code +49 is not allowed" in r.json()["message"]
    assert outbox(container.config)[-1]["to"] != "+4915123456789"


# -- A18 -----------------------------------------------------------------------------------------------

BAD_EMAILS = [
    "me@example.com\r\nBcc: spy@evil.example",
    "me@example.com\nBcc: spy@evil.example",
    "me@example.com\r",
    "me@example.com%0d%0aBcc:spy@evil.example",
    "=?UTF-8?Q?=0A?=Bcc:spy@evil.example",
    "me@example.com=?UTF-8?Q?=0D=0A?=Bcc:spy@evil.example",
    "Spy <spy@evil.example>",
    "me@example.com, spy@evil.example",
    "me@example.com;spy@evil.example",
    "me@example.com\x00spy@evil.example",
    "me(comment)@example.com",
    '"me\r\nBcc: spy"@example.com',
]


@pytest.mark.parametrize("address", BAD_EMAILS, ids=repr)
def test_header_injection_through_the_email_field(container, client, victim, address) -> None:  # type: ignore[no-untyped-def]
    before = len(outbox(container.config))
    r = _submit(client, victim.headers, "EMAIL", address)
    assert r.status_code == 400, r.text
    assert len(outbox(container.config)) == before


BAD_PHONES = [
    "+12015551111\r\nX",
    "+12015551111\r",
    "+1 555 000 1111",
    "+1-555-000-1111",
    "15550001111",
    "+0123456789",
    "+1555000111122223",
]


@pytest.mark.parametrize("number", BAD_PHONES, ids=repr)
def test_malformed_phone_numbers(container, client, victim, number) -> None:  # type: ignore[no-untyped-def]
    before = len(outbox(container.config))
    assert _submit(client, victim.headers, "SMS", number).status_code == 400
    assert len(outbox(container.config)) == before


@pytest.mark.parametrize("kind,target", [("EMAIL", "me@example.com\n"), ("SMS", "+12015551111\n")])
def test_a_trailing_newline_is_refused(container, client, victim, kind, target) -> None:  # type: ignore[no-untyped-def]
    assert _submit(client, victim.headers, kind, target).status_code == 400


@pytest.mark.parametrize(
    "number",
    [
        # +1 201 555 1111, valid once read as ASCII (libphonenumber would read these digits so)
        "+1\u0662\u0660\u0661\u0665\u0665\u0665\u0661\u0661\u0661\u0661",
        "+1\uff12\uff10\uff115551111",
    ],
    ids=["arabic-indic", "full-width"],
)
def test_non_ascii_digits_are_not_e164(container, client, victim, number) -> None:  # type: ignore[no-untyped-def]
    assert _submit(client, victim.headers, "SMS", number).status_code == 400


def test_template_syntax_in_user_data_is_not_evaluated(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    address = "{{7*7}}{%raw%}@example.com"
    assert _submit(client, victim.headers, "EMAIL", address).status_code == 200
    body = outbox(container.config)[-1]["body"]
    assert address in body and "49@" not in body


def test_sms_template_is_substituted_not_evaluated(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    providers = [
        {"providerType": "TOTP", "issuerName": "ThingsBoard"},
        {
            "providerType": "SMS",
            "verificationCodeLifetime": 120,
            "smsVerificationMessageTemplate": "{{7*7}} ${code} {{config}} ${userEmail}",
        },
    ]
    save_platform(client, sysadmin_headers, providers=providers)
    assert _submit(client, victim.headers, "SMS", "+12015551111").status_code == 200
    body = outbox(container.config)[-1]["body"]
    assert (
        body.startswith("{{7*7}} ")
        and "{{config}}" in body
        and victim.email in body
        and "49" not in body.split()[0]
    )
    assert re.search(r"(?<!\d)\d{6}(?!\d)", body)


def test_reset_links_do_not_follow_the_host_header(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    _assert_reset_link_stays_home(container, client, victim, {"Host": "evil.example"})


def test_reset_links_do_not_follow_forwarded_host_headers(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    for header in ("X-Forwarded-Host", "X-Host", "X-Original-Host", "Forwarded"):
        value = "host=evil.example" if header == "Forwarded" else "evil.example"
        _assert_reset_link_stays_home(container, client, victim, {header: value})


def _assert_reset_link_stays_home(container, client, victim, headers) -> None:  # type: ignore[no-untyped-def]
    assert (
        client.post(
            "/api/noauth/resetPasswordByEmail", json={"email": victim.email}, headers=headers
        ).status_code
        == 200
    )
    deliver_queued_mail(container)
    body = [m for m in outbox(container.config) if m["to"] == victim.email][-1]["body"]
    assert "resetToken=" in body
    assert "evil.example" not in body


def test_reset_links_use_the_configured_base_url(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    container.config.base_url = "https://iot.example.com"
    client.post(
        "/api/noauth/resetPasswordByEmail",
        json={"email": victim.email},
        headers={"Host": "evil.example"},
    )
    deliver_queued_mail(container)
    body = [m for m in outbox(container.config) if m["to"] == victim.email][-1]["body"]
    assert (
        "https://iot.example.com/api/noauth/resetPassword?resetToken=" in body
        and "evil.example" not in body
    )
