"""A15: account enumeration through login, lockout and recovery answers (spec/security.md §4).

The defences: the same 401 "Invalid username or password" (status, body shape, headers) for an
unknown user, a wrong password, and a disabled or locked user with a wrong password; account state
is told only to someone who knows the password; unknown users lock out after the same number of
attempts as known ones; the password-reset request always answers 200 with an empty body; an
unknown user's password is checked against a dummy argon2 hash, so timing does not tell either.

A16 (timing of code comparison) is covered by construction rather than by stopwatch: codes are
compared as keyed hashes in a conditional UPDATE or with hmac.compare_digest, and the second step
is reachable only with a pre-verification token (test_preverification_token.py).

Not applicable: the 2FA send endpoint cannot be called for an arbitrary phone/email (it needs a
pre-verification token and sends only to the enrolled destination).
"""

from __future__ import annotations

import statistics
import time

import httpx

from tests.delivery.helpers import stored_id
from tests.factories import create_user
from tests.peers.net import silent_server
from tests.security.helpers import INVALID, MAX_FAILURES, check, make_account, pv_of, wrong_totp
from twostep.crypto import PasswordHasher

MAIL = {
    "mailFrom": "twostep@example.com",
    "smtpProtocol": "smtp",
    "smtpHost": "127.0.0.1",
    "enableTls": False,
    "tlsVersion": "TLSv1.2",
    "username": "",
    "password": "",
    "enableProxy": False,
    "showChangePassword": False,
}


def _fingerprint(r):  # type: ignore[no-untyped-def]
    body = r.json()
    headers = sorted(k.lower() for k in r.headers if k.lower() not in ("date", "x-request-id"))
    return r.status_code, body["message"], body["errorCode"], sorted(body), headers


def _login(client, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_unknown_wrong_disabled_and_locked_look_the_same(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    create_user(container, "disabled@example.com", "disabled-Pa55word", enabled=False)
    create_user(container, "plain@example.com", "plain-Pa55word")  # no second factor
    locked = make_account(container, client, "locked@example.com", "locked-Pa55word")
    pv = pv_of(client, locked)
    for _ in range(MAX_FAILURES):
        check(client, pv, "TOTP", wrong_totp(locked.secret))
    answers = {
        "unknown": _login(client, "nobody@example.com", "whatever-Pa55word"),
        "wrong password, 2FA user": _login(client, victim.email, "whatever-Pa55word"),
        "wrong password, no 2FA": _login(client, "plain@example.com", "whatever-Pa55word"),
        "disabled, wrong password": _login(client, "disabled@example.com", "whatever-Pa55word"),
        "2FA-locked, wrong password": _login(client, locked.email, "whatever-Pa55word"),
        "unknown, differently cased domain": _login(
            client, "nobody@EXAMPLE.com", "whatever-Pa55word"
        ),
    }
    prints = {name: _fingerprint(r) for name, r in answers.items()}
    assert prints["unknown"][:2] == (401, INVALID)
    assert all(p == prints["unknown"] for p in prints.values()), prints


def test_unknown_users_lock_out_like_known_ones(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings["maxFailedLoginAttempts"] = 3
    assert (
        client.post(
            "/api/admin/securitySettings", headers=sysadmin_headers, json=settings
        ).status_code
        == 200
    )
    known = [_fingerprint(_login(client, victim.email, f"wrong-{i}-Pa55")) for i in range(6)]
    unknown = [
        _fingerprint(_login(client, "nobody@example.com", f"wrong-{i}-Pa55")) for i in range(6)
    ]
    assert known == unknown
    assert [k[1] for k in known].count(INVALID) == 3


def test_the_reset_request_answers_the_same_for_everyone(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    create_user(container, "disabled@example.com", "disabled-Pa55word", enabled=False)
    answers = [
        client.post("/api/noauth/resetPasswordByEmail", json={"email": email})
        for email in (victim.email, "nobody@example.com", "disabled@example.com", "not an email")
    ]
    assert {(r.status_code, r.content) for r in answers} == {(200, b"")}


def test_login_timing_does_not_tell_unknown_from_known(
    container, client, monkeypatch, platform
) -> None:  # type: ignore[no-untyped-def]
    """Production-strength argon2 (19 MiB, t=2) so that the hash dominates as it does in service:
    30 interleaved samples per case; the medians must agree within a factor of 2 (a missing dummy
    hash makes unknown users about 10x faster)."""
    monkeypatch.setattr(
        container, "passwords", PasswordHasher(memory_kib=19456, time_cost=2, parallelism=1)
    )
    create_user(container, "known@example.com", "known-Pa55word")
    create_user(container, "off@example.com", "off-Pa55word", enabled=False)
    cases = {
        "unknown": "nobody@example.com",
        "known": "known@example.com",
        "disabled": "off@example.com",
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(31):
        for name, username in cases.items():
            started = time.perf_counter()
            r = _login(client, username, f"wrong-{i}-Pa55word")
            samples[name].append(time.perf_counter() - started)
            assert r.status_code == 401
    medians = {
        name: statistics.median(values[1:]) for name, values in samples.items()
    }  # drop the warm-up
    assert max(medians.values()) / min(medians.values()) < 2.0, medians


def test_reset_request_timing_does_not_tell_unknown_from_known(
    container, client, sysadmin_headers, live_server
) -> None:  # type: ignore[no-untyped-def]
    """A slow mail server (it accepts and never answers; 250 ms timeout) makes the difference
    visible; any real SMTP round trip does the same, only smaller. 15 samples per case (the reset
    request is limited to 5 mails per user and hour, so three users)."""
    container.config.outbox = False
    users = [f"known{i}@example.com" for i in range(3)]
    for email in users:
        create_user(container, email, "known-Pa55word")
    with silent_server() as port:
        r = client.post(
            "/api/admin/settings",
            headers=sysadmin_headers,
            json={
                "key": "mail",
                "jsonValue": {**MAIL, "smtpPort": str(port), "timeout": "250"},
                **stored_id(client, sysadmin_headers, "mail"),
            },
        )
        assert r.status_code == 200, r.text
        samples: dict[str, list[float]] = {"known": [], "unknown": []}
        # Over real HTTP, as an attacker sees it (the in-process test client waits for work that
        # runs after the answer was sent).
        with httpx.Client(base_url=live_server.url, timeout=10) as http:
            for i in range(15):
                for name, email in (("known", users[i % 3]), ("unknown", f"nobody{i}@example.com")):
                    started = time.perf_counter()
                    r = http.post("/api/noauth/resetPasswordByEmail", json={"email": email})
                    samples[name].append(time.perf_counter() - started)
                    assert (r.status_code, r.content) == (200, b"")
    known, unknown = (statistics.median(samples[k]) for k in ("known", "unknown"))
    assert known - unknown < 0.1, (known, unknown)
