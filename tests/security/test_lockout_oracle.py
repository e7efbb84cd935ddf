"""A locked or disabled account is no password oracle, and a lockout that committed wins.

The defences: once an account is locked (password or 2FA lockout) or disabled, a login with the
right password is answered, counted and timed as one with a wrong password; tokens (a pair, a
pre-verification or a configuration token, a refreshed pair) are issued only by a transaction
that finds the credentials still enabled on the row that a lockout locks, so no request that
raced a lockout leaves with a working pair once the lock has committed.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select, update

from tests.factories import create_user, oathtool
from tests.security.helpers import MAX_FAILURES, check, make_account, pv_of, wrong_totp
from twostep.crypto import PasswordHasher
from twostep.storage import tables as t

PASSWORD = "locked-Pa55word"
WRONG = "wrong-Pa55word"


def _login(client: Any, username: str, password: str) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def _fingerprint(r: Any) -> tuple[Any, ...]:
    body = r.json()
    headers = sorted(k.lower() for k in r.headers if k.lower() not in ("date", "x-request-id"))
    return r.status_code, body["message"], body["errorCode"], tuple(sorted(body)), tuple(headers)


def _set_password_limit(client: Any, admin: dict[str, str], limit: int) -> None:
    settings = client.get("/api/admin/securitySettings", headers=admin).json()
    settings["maxFailedLoginAttempts"] = limit
    assert client.post("/api/admin/securitySettings", headers=admin, json=settings).status_code == 200


def test_a_locked_or_disabled_account_answers_the_right_password_as_a_wrong_one(
    container, client, sysadmin_headers, platform
) -> None:  # type: ignore[no-untyped-def]
    _set_password_limit(client, sysadmin_headers, 3)
    create_user(container, "password-locked@example.com", PASSWORD)
    for _ in range(4):
        _login(client, "password-locked@example.com", WRONG)
    twofa_locked = make_account(container, client, "2fa-locked@example.com", PASSWORD)
    pv = pv_of(client, twofa_locked)
    for _ in range(MAX_FAILURES):
        check(client, pv, "TOTP", wrong_totp(twofa_locked.secret))
    create_user(container, "disabled@example.com", PASSWORD, enabled=False)

    for email in ("password-locked@example.com", "2fa-locked@example.com", "disabled@example.com"):
        # From the same failure count each time (the count alone may change the message).
        count = _password_failures(container, email)
        answers = []
        for password in (WRONG, PASSWORD) * 2:
            _set_password_failures(container, email, count)
            answers.append(_fingerprint(_login(client, email, password)))
        assert len(set(answers)) == 1, (email, answers)
        assert answers[0][0] == 401
    assert _login(client, "password-locked@example.com", PASSWORD).json()["message"] == (
        "User account is locked due to security policy"
    )


def _password_failures(container: Any, email: str) -> int:
    with container.db.read() as conn:
        return conn.execute(  # type: ignore[no-any-return]
            select(t.user_credentials.c.failed_login_attempts)
            .join(t.user, t.user.c.id == t.user_credentials.c.user_id)
            .where(t.user.c.email == email)
        ).scalar_one()


def _set_password_failures(container: Any, email: str, count: int) -> None:
    with container.db.transaction() as conn:
        user_id = conn.execute(select(t.user.c.id).where(t.user.c.email == email)).scalar_one()
        conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == user_id)
            .values(failed_login_attempts=count)
        )


def test_a_locked_account_takes_as_long_for_the_right_password_as_for_a_wrong_one(
    container, client, sysadmin_headers, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Production-strength argon2id; 31 interleaved samples of each; the medians agree within
    50 %: both sides do the same hash and the same writes, and a side that skipped the hash (the
    way an early "account disabled" answer would) is about 10 times faster. The margin is for a
    busy machine, where single medians move by a fifth."""
    monkeypatch.setattr(
        container, "passwords", PasswordHasher(memory_kib=19456, time_cost=2, parallelism=1)
    )
    _set_password_limit(client, sysadmin_headers, 3)
    create_user(container, "slow@example.com", PASSWORD)
    for _ in range(4):
        _login(client, "slow@example.com", WRONG)
    samples: dict[str, list[float]] = {"right": [], "wrong": []}
    for i in range(32):
        for name, password in (("right", PASSWORD), ("wrong", f"{WRONG}-{i}")):
            started = time.perf_counter()
            r = _login(client, "slow@example.com", password)
            samples[name].append(time.perf_counter() - started)
            assert r.status_code == 401
    medians = {name: statistics.median(values[1:]) for name, values in samples.items()}
    assert max(medians.values()) / min(medians.values()) < 1.5, medians


# -- races ---------------------------------------------------------------------------------------


def _credentials(container: Any, user_id: Any) -> Any:
    with container.db.read() as conn:
        return conn.execute(
            select(t.user_credentials).where(t.user_credentials.c.user_id == user_id)
        ).one()


def _at_the_limit(container: Any, user_id: Any, *, password: int = 0, twofa: int = 0) -> None:
    with container.db.transaction() as conn:
        conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == user_id)
            .values(enabled=True, failed_login_attempts=password, twofa_failed_attempts=twofa)
        )


def _staggered(url: str, calls: list[tuple[float, str, str, dict[str, Any]]]) -> list[Any]:
    """(delay s, method, path, httpx keywords): each call starts `delay` after a common start."""
    barrier = threading.Barrier(len(calls))

    def one(call: tuple[float, str, str, dict[str, Any]]) -> Any:
        delay, method, path, kw = call
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            time.sleep(delay)
            return http.request(method, path, **kw)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def _working(url: str, responses: list[Any]) -> list[Any]:
    """The responses whose access token works now."""
    found = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for r in responses:
            if r.status_code == 200 and r.json().get("refreshToken"):
                me = http.get("/api/auth/user", headers={"X-Authorization": f"Bearer {r.json()['token']}"})
                if me.status_code == 200:
                    found.append(r)
    return found


def test_wrong_passwords_that_lock_the_account_beat_the_right_one_sent_just_after(
    container, client, sysadmin_headers, live_server, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Limit 5 with five failures made: three wrong passwords, then the right one a few ms later.
    One hash at a time (TWOSTEP_HASH_CONCURRENCY=1), so the right one is still waiting for its
    hash when the lock commits. Whatever the order, never a working pair from a locked account."""
    monkeypatch.setattr(
        container,
        "passwords",
        PasswordHasher(memory_kib=19456, time_cost=2, parallelism=1, concurrency=1),
    )
    _set_password_limit(client, sysadmin_headers, 5)
    user_id = create_user(container, "raced@example.com", PASSWORD)
    locked_rounds = 0
    for _ in range(6):
        _at_the_limit(container, user_id, password=5)
        body = {"username": "raced@example.com"}
        calls = [
            (0.000, "POST", "/api/auth/login", {"json": {**body, "password": f"{WRONG}-1"}}),
            (0.003, "POST", "/api/auth/login", {"json": {**body, "password": f"{WRONG}-2"}}),
            (0.006, "POST", "/api/auth/login", {"json": {**body, "password": f"{WRONG}-3"}}),
            (0.009, "POST", "/api/auth/login", {"json": {**body, "password": PASSWORD}}),
        ]
        answers = _staggered(live_server.url, calls)
        locked = not _credentials(container, user_id).enabled
        locked_rounds += locked
        if locked:
            assert _working(live_server.url, answers) == [], [a.text for a in answers]
            assert all(a.status_code == 401 for a in answers), [a.text for a in answers]
    assert locked_rounds >= 1  # the race was really run against a lock


def test_a_lockout_by_wrong_codes_beats_parallel_right_codes_and_logins(
    container, client, sysadmin_headers, live_server, platform
) -> None:  # type: ignore[no-untyped-def]
    victim = make_account(container, client, "coded@example.com", PASSWORD)
    rounds_locked = 0
    for _ in range(4):
        _at_the_limit(container, victim.id, twofa=MAX_FAILURES - 1)
        pvs = [pv_of(client, victim) for _ in range(3)]
        right = oathtool(victim.secret)
        wrong = wrong_totp(victim.secret)
        path = "/api/auth/2fa/verification/check"
        calls = [
            (0.0, "POST", path, {"headers": pvs[0], "params": {"providerType": "TOTP", "verificationCode": wrong}}),
            (0.001, "POST", path, {"headers": pvs[1], "params": {"providerType": "TOTP", "verificationCode": right}}),
            (0.002, "POST", "/api/auth/login", {"json": {"username": victim.email, "password": PASSWORD}}),
            (0.003, "POST", path, {"headers": pvs[2], "params": {"providerType": "TOTP", "verificationCode": right}}),
        ]
        answers = _staggered(live_server.url, calls)
        if not _credentials(container, victim.id).enabled:
            rounds_locked += 1
            assert _working(live_server.url, answers) == [], [a.text for a in answers]
            late_pv = answers[2]
            if late_pv.status_code == 200:  # a pre-verification token from before the lock
                r = check(client, {"X-Authorization": f"Bearer {late_pv.json()['token']}"}, "TOTP", right)
                assert r.status_code == 401
    assert rounds_locked >= 1


def test_refreshes_racing_a_lockout_never_leave_a_working_pair(
    container, client, sysadmin_headers, live_server
) -> None:  # type: ignore[no-untyped-def]
    _set_password_limit(client, sysadmin_headers, 3)
    user_id = create_user(container, "refreshed@example.com", PASSWORD)
    for _ in range(3):
        _at_the_limit(container, user_id, password=3)
        pairs = [_login(client, "refreshed@example.com", PASSWORD).json() for _ in range(6)]
        _at_the_limit(container, user_id, password=3)
        calls = [(0.0, "POST", "/api/auth/login", {"json": {"username": "refreshed@example.com", "password": WRONG}})]
        calls += [
            (0.0005 * i, "POST", "/api/auth/token", {"json": {"refreshToken": p["refreshToken"]}})
            for i, p in enumerate(pairs)
        ]
        answers = _staggered(live_server.url, calls)
        assert not _credentials(container, user_id).enabled
        assert _working(live_server.url, answers[1:]) == [], [a.text for a in answers]
