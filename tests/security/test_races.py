"""A4: 50 parallel checks of one valid code give exactly one success, for every code kind."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.factories import create_user, oathtool
from tests.twofa_helpers import (
    enroll_backup,
    enroll_delivered,
    enroll_totp,
    full_headers,
    last_code,
    pre_token,
    save_platform,
)
from twostep.services.twofa import second_step

EMAIL = "racer@example.com"
PASSWORD = "racer-Pa55word"
PARALLEL = 50


def _fire(url: str, requests: list[tuple[dict[str, str], dict[str, str]]]) -> list[int]:
    """Send all requests at once (a barrier releases every thread together)."""
    barrier = threading.Barrier(len(requests))

    def one(item: tuple[dict[str, str], dict[str, str]]) -> int:
        headers, params = item
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            return http.post("/api/auth/2fa/verification/check", headers=headers, params=params).status_code

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


@pytest.fixture
def racer(container, client, sysadmin_headers):  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers, maxVerificationFailuresBeforeUserLockout=100)
    create_user(container, EMAIL, PASSWORD)
    return full_headers(client, EMAIL, PASSWORD)


def test_one_totp_code_on_50_login_attempts(client, live_server, racer) -> None:  # type: ignore[no-untyped-def]
    secret = enroll_totp(client, racer)
    tokens = [pre_token(client, EMAIL, PASSWORD) for _ in range(PARALLEL)]
    now = time.time()
    if 30 - now % 30 < 3:  # keep the burst inside one time step
        time.sleep(30 - now % 30 + 0.2)
    code = oathtool(secret)
    statuses = _fire(live_server.url, [(t, {"providerType": "TOTP", "verificationCode": code}) for t in tokens])
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 400}


def test_one_backup_code_on_50_login_attempts(client, live_server, racer) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, racer)
    codes = enroll_backup(client, racer)
    tokens = [pre_token(client, EMAIL, PASSWORD) for _ in range(PARALLEL)]
    statuses = _fire(live_server.url, [(t, {"providerType": "BACKUP_CODE", "verificationCode": codes[0]}) for t in tokens])
    assert statuses.count(200) == 1, statuses


def test_different_backup_codes_on_one_login_attempt(client, live_server, racer) -> None:  # type: ignore[no-untyped-def]
    """Every backup code at once on ONE pre-verification token: the attempt completes once, and
    the codes of the requests that lost the race are not burnt (each still signs in later)."""
    enroll_totp(client, racer)
    codes = enroll_backup(client, racer)
    pv = pre_token(client, EMAIL, PASSWORD)
    statuses = _fire(live_server.url, [(pv, {"providerType": "BACKUP_CODE", "verificationCode": c}) for c in codes])
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 400, 401}, statuses
    winner = codes[statuses.index(200)]
    for code in codes:
        r = client.post(
            "/api/auth/2fa/verification/check",
            headers=pre_token(client, EMAIL, PASSWORD),
            params={"providerType": "BACKUP_CODE", "verificationCode": code},
        )
        assert r.status_code == (400 if code == winner else 200), (code == winner, r.text)


def test_two_checks_that_read_the_attempt_together_complete_it_once(
    client, live_server, racer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The interleaving the burst above hopes for, made certain: both checks read the live attempt
    before either decides (a barrier after the read). One completes the attempt; the other is
    refused and its backup code is not burnt."""
    enroll_totp(client, racer)
    codes = enroll_backup(client, racer)[:2]
    pv = pre_token(client, EMAIL, PASSWORD)
    both_read = threading.Barrier(2, timeout=20)
    read_context = second_step._context

    def context_then_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = read_context(*args, **kwargs)
        both_read.wait()
        return found

    monkeypatch.setattr(second_step, "_context", context_then_wait)
    statuses = _fire(live_server.url, [(pv, {"providerType": "BACKUP_CODE", "verificationCode": c}) for c in codes])
    monkeypatch.setattr(second_step, "_context", read_context)
    assert sorted(statuses) == [200, 401], statuses
    loser = codes[statuses.index(401)]
    r = client.post(
        "/api/auth/2fa/verification/check",
        headers=pre_token(client, EMAIL, PASSWORD),
        params={"providerType": "BACKUP_CODE", "verificationCode": loser},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("kind,channel,target", [("SMS", "sms", "+12015551111"), ("EMAIL", "email", "racer2@example.com")])
def test_one_delivered_code_checked_50_times(container, client, live_server, racer, kind, channel, target) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, racer)
    enroll_delivered(client, container, racer, kind, target)
    pv = pre_token(client, EMAIL, PASSWORD)
    assert client.post(f"/api/auth/2fa/verification/send?providerType={kind}", headers=pv).status_code == 200
    code = last_code(container, channel)
    statuses = _fire(live_server.url, [(pv, {"providerType": kind, "verificationCode": code})] * PARALLEL)
    assert statuses.count(200) == 1, statuses


def test_parallel_wrong_codes_never_exceed_the_limit(container, client, live_server, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    """30 parallel wrong guesses with a limit of 5: at most 5 are evaluated, the account locks,
    and the correct code is refused afterwards."""
    save_platform(client, sysadmin_headers, maxVerificationFailuresBeforeUserLockout=5)
    create_user(container, EMAIL, PASSWORD)
    secret = enroll_totp(client, full_headers(client, EMAIL, PASSWORD))
    tokens = [pre_token(client, EMAIL, PASSWORD) for _ in range(30)]
    statuses = _fire(live_server.url, [(t, {"providerType": "TOTP", "verificationCode": f"{i:06d}"}) for i, t in enumerate(tokens)])
    assert statuses.count(400) <= 4, statuses
    assert 200 not in statuses or oathtool(secret) in {f"{i:06d}" for i in range(30)}
    r = client.post("/api/auth/login", json={"username": EMAIL, "password": PASSWORD})
    assert r.status_code == 401 and r.json()["message"] == "Invalid username or password"
