"""A2: rate-limit bypass by spoofed client-IP headers (spec/security.md §4).

The 2FA failure counter is keyed on the account only, so no header can give a fresh budget. The
client address (audit log, login attempt, owner notifications, the per-client send cap) is the
socket peer, or, behind `trusted_proxy_hops` proxies, the X-Forwarded-For entry our own proxy
appended; never a value the client wrote. The TestClient's socket peer is "testclient".

Not applicable: "trusted IP skips 2FA" settings do not exist here.
"""

from __future__ import annotations

import uuid

import jwt
import pytest
from sqlalchemy import select

from tests.security.helpers import (
    LOCKED,
    MAX_FAILURES,
    check,
    make_account,
    pv_of,
    send,
    wrong_totp,
)
from tests.twofa_helpers import enroll_delivered
from twostep.storage import tables as t

SPOOF_HEADERS = [
    {"X-Forwarded-For": "203.0.113.7"},
    {"X-Forwarded-For": "203.0.113.7, 198.51.100.9"},
    {"X-Forwarded-For": "127.0.0.1"},
    {"X-Forwarded-For": "::1"},
    {"X-Forwarded-For": "[2001:db8::1]:443"},
    {"X-Real-IP": "203.0.113.7"},
    {"X-Originating-IP": "203.0.113.7"},
    {"X-Client-IP": "203.0.113.7"},
    {"True-Client-IP": "203.0.113.7"},
    {"CF-Connecting-IP": "203.0.113.7"},
    {"Forwarded": "for=203.0.113.7;proto=https"},
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-For": "10.0.0.1"},
]


def _address_of_login(container, client, account, headers=None) -> str:  # type: ignore[no-untyped-def]
    """Log in and read the client address recorded on the new login attempt (the token's jti)."""
    r = client.post(
        "/api/auth/login",
        json={"username": account.email, "password": account.password},
        headers=headers or {},
    )
    assert r.status_code == 200, r.text
    jti = uuid.UUID(jwt.decode(r.json()["token"], options={"verify_signature": False})["jti"])
    with container.db.read() as conn:
        return conn.execute(
            select(t.login_attempt.c.client_address).where(t.login_attempt.c.id == jti)
        ).scalar_one()


@pytest.mark.parametrize(
    "headers", SPOOF_HEADERS, ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items())
)
def test_spoofed_headers_never_become_the_client_address(
    container, client, victim, headers
) -> None:  # type: ignore[no-untyped-def]
    assert _address_of_login(container, client, victim, headers) == "testclient"


def test_rotating_headers_do_not_give_a_fresh_failure_budget(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    wrong = wrong_totp(victim.secret)
    answers = []
    for i in range(MAX_FAILURES):
        spoof = {"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"203.0.113.{i}"}
        body = client.post(
            "/api/auth/login",
            json={"username": victim.email, "password": victim.password},
            headers=spoof,
        ).json()
        answers.append(
            check(client, {"X-Authorization": f"Bearer {body['token']}"}, "TOTP", wrong, **spoof)
        )
    assert [r.status_code for r in answers] == [400] * (MAX_FAILURES - 1) + [401]
    assert answers[-1].json()["message"] == LOCKED


def test_rotating_headers_do_not_escape_the_per_client_send_cap(
    container, client, platform
) -> None:  # type: ignore[no-untyped-def]
    """Four users, one client: with a per-client SMS cap the fourth send is refused, whatever
    X-Forwarded-For says."""
    users = []
    for i in range(4):
        account = make_account(container, client, f"sms{i}@example.com", "sms-Pa55word")
        enroll_delivered(client, container, account.headers, "SMS", f"+1201555{i:04d}")
        users.append(account)
    cfg = container.config
    # The enrollment sends above count too (4 from "testclient"): allow exactly three more.
    for name in (
        "sms_cap_per_user",
        "sms_cap_per_destination",
        "sms_cap_per_block",
        "sms_cap_per_country",
        "sms_cap_global",
    ):
        setattr(cfg, name, "")
    cfg.sms_cap_per_client = "7:3600"
    statuses = [
        send(client, pv_of(client, u), "SMS", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i, u in enumerate(users)
    ]
    assert statuses == [200, 200, 200, 429]


def test_behind_one_trusted_proxy_only_the_proxys_entry_counts(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    container.config.trusted_proxy_hops = 1
    # The client forged the first entries; our proxy appended the real peer last.
    assert (
        _address_of_login(
            container, client, victim, {"X-Forwarded-For": "6.6.6.6, 7.7.7.7, 192.0.2.10"}
        )
        == "192.0.2.10"
    )
    # Other spellings are not read at all.
    assert (
        _address_of_login(
            container, client, victim, {"X-Real-IP": "6.6.6.6", "Forwarded": "for=6.6.6.6"}
        )
        == "testclient"
    )
    # No X-Forwarded-For (a request that bypassed the proxy): the socket peer.
    assert _address_of_login(container, client, victim) == "testclient"
    container.config.trusted_proxy_hops = 2
    assert (
        _address_of_login(
            container, client, victim, {"X-Forwarded-For": "6.6.6.6, 192.0.2.20, 10.0.0.2"}
        )
        == "192.0.2.20"
    )
    # Fewer entries than trusted hops: nothing trustworthy, the socket peer.
    assert (
        _address_of_login(container, client, victim, {"X-Forwarded-For": "6.6.6.6"}) == "testclient"
    )
