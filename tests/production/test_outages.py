"""Redis or PostgreSQL unreachable under load: no check succeeds while its limits and counters
cannot be enforced, errors are 503 in the error shape, and the service recovers by itself."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Self

import httpx

from tests.factories import create_user
from tests.production.conftest import pg_admin
from tests.production.helpers import (
    assert_error_shape,
    check,
    code_for,
    enroll_email,
    login,
    pre_token,
    save_platform,
    send,
    token_headers,
    total,
)

PASSWORD = "user-Pa55word"


class Load:
    """Background threads checking codes (a wrong one, and the valid one) and logging in."""

    def __init__(self, url: str, headers: dict[str, str], valid_code: str, email: str) -> None:
        self.url = url
        self.headers = headers
        self.valid_code = valid_code
        self.email = email
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.phase = "before"
        self.seen: list[tuple[str, str, int, Any]] = []  # (phase, kind, status, body)
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(4)]

    def _run(self, i: int) -> None:
        with httpx.Client(base_url=self.url, timeout=20) as http:
            while not self.stop.is_set():
                phase = self.phase
                try:
                    if i == 3:
                        kind = "login"
                        r = http.post(
                            "/api/auth/login", json={"username": self.email, "password": PASSWORD}
                        )
                    elif i == 0 and phase != "outage":
                        # The valid code is tried only while the outage lasts (it must not win then).
                        time.sleep(0.02)
                        continue
                    else:
                        kind = "valid" if i == 0 else "wrong"
                        code = self.valid_code if i == 0 else "000000"
                        r = http.post(
                            "/api/auth/2fa/verification/check",
                            headers=self.headers,
                            params={"providerType": "EMAIL", "verificationCode": code},
                        )
                    try:
                        body = r.json()
                    except ValueError:
                        body = r.text
                    with self.lock:
                        self.seen.append((phase, kind, r.status_code, body))
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.seen.append((phase, kind, -1, type(exc).__name__))
                time.sleep(0.1 if i == 1 else 0.03)

    def __enter__(self) -> Self:
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(timeout=30)

    def during(self, phase: str) -> list[tuple[str, str, int, Any]]:
        with self.lock:
            return [s for s in self.seen if s[0] == phase]


def _setup_user(cluster: Any, url: str, name: str) -> tuple[str, dict[str, str]]:
    """A user with email 2FA, and a pre-verification token of a fresh login."""
    email = f"{name}@example.com"
    create_user(cluster.container, email, PASSWORD)
    enroll_email([url, url], cluster.container.config, token_headers(url, email, PASSWORD), email)
    return email, pre_token(url, email, PASSWORD)


def _fresh_code(cluster: Any, url: str, pv: dict[str, str], email: str) -> str:
    started = int(time.time() * 1000)
    r = send(url, pv)
    assert r.status_code == 200, r.text
    return code_for(cluster.container.config, email, after=started)


def _assert_outage_answers(answers: list[tuple[str, str, int, Any]], allowed: set[int]) -> None:
    assert answers, "no request ran during the outage"
    for _, kind, status, body in answers:
        assert status != 200 or kind == "login", (kind, status, body)
        assert status in allowed, (kind, status, body)
        if status == 503:
            assert {"status", "message", "errorCode", "timestamp"} <= set(body), body
            assert body["status"] == 503


def test_redis_down_checks_fail_closed_and_recover(make_cluster: Any, private_redis: Any) -> None:
    cluster = make_cluster(redis_url=private_redis.url)
    server = cluster.add("r").start().wait_ready()
    url = server.url
    # The check rate limit lives in Redis: without Redis no check may be evaluated.
    save_platform(
        url,
        minVerificationCodeSendPeriod=5,
        verificationCodeCheckRateLimit="1000:60",
        maxVerificationFailuresBeforeUserLockout=100,
    )
    email, pv = _setup_user(cluster, url, "redis-outage")
    code = _fresh_code(cluster, url, pv, email)
    unavailable_before = total([url], "twostep_second_step_checks_total", result="unavailable")

    with Load(url, pv, code, email) as load:
        time.sleep(0.3)
        load.phase = "going-down"
        private_redis.shutdown()
        load.phase = "outage"  # Redis is gone: from here on no check may be evaluated
        time.sleep(1.5)
        # Readiness reports Redis; a send and the valid code are refused with 503.
        r = httpx.get(url + "/readyz")
        assert_error_shape(r, 503)
        assert r.json()["checks"]["redis"] == "DOWN" and r.json()["checks"]["database"] == "UP"
        assert_error_shape(send(url, pv), 503)
        assert_error_shape(check(url, pv, code), 503)
        load.phase = "after"  # the load keeps going while Redis returns
        private_redis.start()
        time.sleep(1.0)
    # A correct password still passes (its failure count is in the database); no check does.
    _assert_outage_answers(load.during("outage"), {200, 400, 401, 503})
    assert any(status == 503 for _, _, status, _ in load.during("outage"))
    # The load's valid code, or another check, may have won after recovery; then log in again.
    assert httpx.get(url + "/readyz").status_code == 200
    if any(s == 200 for _, kind, s, _ in load.seen if kind == "valid"):
        pv = pre_token(url, email, PASSWORD)
        time.sleep(5)  # minVerificationCodeSendPeriod
        code = _fresh_code(cluster, url, pv, email)
    r = check(url, pv, code)
    assert r.status_code == 200, r.text
    assert (
        total([url], "twostep_second_step_checks_total", result="unavailable") > unavailable_before
    )


def test_postgresql_connections_dropped_then_refused_fail_closed_and_recover(
    make_cluster: Any,
) -> None:
    # Without Redis: the database carries the limits too (the SQL limiter).
    cluster = make_cluster(redis_url=None)
    servers = [cluster.add("p1").start(), cluster.add("p2").start()]
    for s in servers:
        s.wait_ready()
    url, other = servers[0].url, servers[1].url
    save_platform(
        url,
        minVerificationCodeSendPeriod=5,
        verificationCodeCheckRateLimit="1000:60",
        maxVerificationFailuresBeforeUserLockout=100,
    )
    email, pv = _setup_user(cluster, url, "pg-outage")
    code = _fresh_code(cluster, url, pv, email)
    terminate = (
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{cluster.db_name}' AND pid <> pg_backend_pid()"
    )
    cluster.container.db.dispose()

    with Load(url, pv, code, email) as load:
        # 1. Connections dropped repeatedly under load: answers stay in the error shape, never 500.
        load.phase = "drops"
        for _ in range(10):
            pg_admin(terminate)
            time.sleep(0.1)
        # 2. The database refuses connections: every check is 503, readiness says so.
        load.phase = "going-down"
        pg_admin(f'ALTER DATABASE "{cluster.db_name}" ALLOW_CONNECTIONS false')
        # A connection whose start-up passed the check just before the ALTER shows up in
        # pg_stat_activity only a moment later: terminate until none is left.
        deadline = time.time() + 10
        while pg_admin(terminate) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # requests that began before the cut finish (or fail) first
        assert not pg_admin(terminate), "a connection to the database survived the cut"
        load.phase = "outage"  # every pooled connection is gone and no new one is accepted
        time.sleep(1.0)
        for target in (url, other):
            r = httpx.get(target + "/readyz")
            assert_error_shape(r, 503)
            assert r.json()["checks"]["database"] == "DOWN"
            assert_error_shape(check(target, pv, code), 503)
            assert_error_shape(login(target, email, PASSWORD), 503)
        load.phase = "after"
        pg_admin(f'ALTER DATABASE "{cluster.db_name}" ALLOW_CONNECTIONS true')
        time.sleep(1.0)

    drops = load.during("drops")
    assert drops and {s for _, _, s, _ in drops} <= {200, 400, 401, 503}, Counter(
        (kind, s) for _, kind, s, _ in drops
    )
    for _, kind, status, body in drops:
        assert status != 200 or kind == "login", (kind, status, body)
        if status == 503:
            assert {"status", "message", "errorCode", "timestamp"} <= set(body), body
    _assert_outage_answers(load.during("outage"), {503})
    # Recovered by itself on both instances: the valid code (unused) completes the login now.
    for target in (url, other):
        deadline = time.time() + 15
        while httpx.get(target + "/readyz").status_code != 200 and time.time() < deadline:
            time.sleep(0.2)
        assert httpx.get(target + "/readyz").status_code == 200
    if any(s == 200 for _, kind, s, _ in load.seen if kind == "valid"):
        pv = pre_token(url, email, PASSWORD)
        time.sleep(5)  # minVerificationCodeSendPeriod
        code = _fresh_code(cluster, url, pv, email)
    r = check(other, pv, code)
    assert r.status_code == 200, r.text
    assert total([url, other], "twostep_second_step_checks_total", result="unavailable") >= 2
    assert total([url, other], "twostep_logins_total", result="unavailable") >= 1
