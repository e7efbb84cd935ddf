"""Two `twostep serve` instances on one PostgreSQL database and Redis: a lockout committed through
one instance beats the right password, and refreshes, sent a moment later through the other.

Production-strength argon2id with one hash at a time per instance (TWOSTEP_HASH_CONCURRENCY=1),
so that the right password is still waiting for its hash when the lock commits."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.factories import create_user, platform
from tests.production.helpers import fire, http, sysadmin
from twostep.storage import tables as t

PASSWORD = "raced-Pa55word"
SLOW_HASH = {"hash_concurrency": "1", "argon2_memory_kib": "19456", "argon2_time_cost": "2"}


@pytest.fixture(scope="module")
def pair(make_cluster: Any) -> Any:
    c = make_cluster()
    servers = [c.add("a", **SLOW_HASH), c.add("b", **SLOW_HASH)]
    for s in servers:
        s.start()
    for s in servers:
        s.wait_ready()
    c.urls = [s.url for s in servers]
    with http(c.urls[0]) as h:
        admin = sysadmin(c.urls[0])
        settings = h.get("/api/admin/securitySettings", headers=admin).json()
        settings["maxFailedLoginAttempts"] = 5
        assert h.post("/api/admin/securitySettings", headers=admin, json=settings).status_code == 200
    return c


def _set(cluster: Any, user_id: Any, **values: Any) -> None:
    with cluster.container.db.transaction() as conn:
        conn.execute(
            update(t.user_credentials).where(t.user_credentials.c.user_id == user_id).values(**values)
        )


def _enabled(cluster: Any, user_id: Any) -> bool:
    with cluster.container.db.read() as conn:
        return bool(
            conn.execute(
                select(t.user_credentials.c.enabled).where(t.user_credentials.c.user_id == user_id)
            ).scalar_one()
        )


def _post(url: str, path: str, body: dict[str, Any], delay: float) -> Any:
    def call() -> httpx.Response:
        time.sleep(delay)
        with http(url) as c:
            return c.post(path, json=body)

    return call


def _working_tokens(url: str, answers: list[httpx.Response]) -> list[str]:
    working = []
    with http(url) as c:
        for r in answers:
            if r.status_code == 200 and r.json().get("refreshToken"):
                token = r.json()["token"]
                if c.get("/api/auth/user", headers={"X-Authorization": f"Bearer {token}"}).status_code == 200:
                    working.append(token)
    return working


def test_a_lockout_through_one_instance_beats_the_right_password_through_the_other(pair: Any) -> None:
    a, b = pair.urls
    email = "raced@example.com"
    user_id = create_user(pair.container, email, PASSWORD)
    locked_rounds = 0
    for _ in range(5):
        _set(pair, user_id, enabled=True, failed_login_attempts=5)
        calls = [
            _post(a, "/api/auth/login", {"username": email, "password": f"wrong-{i}-Pa55"}, 0.004 * i)
            for i in range(3)
        ]
        calls += [
            _post(a, "/api/auth/login", {"username": email, "password": PASSWORD}, 0.014),
            _post(b, "/api/auth/login", {"username": email, "password": PASSWORD}, 0.016),
        ]
        answers = fire(calls)
        if not _enabled(pair, user_id):
            locked_rounds += 1
            assert _working_tokens(b, answers) == [], [r.text for r in answers]
    assert locked_rounds >= 1


def test_refreshes_through_one_instance_never_outlive_a_lockout_through_the_other(pair: Any) -> None:
    a, b = pair.urls
    email = "refreshed@example.com"
    user_id = create_user(pair.container, email, PASSWORD)
    for _ in range(3):
        _set(pair, user_id, enabled=True, failed_login_attempts=0)
        with http(b) as c:
            pairs = [c.post("/api/auth/login", json={"username": email, "password": PASSWORD}).json() for _ in range(6)]
        _set(pair, user_id, failed_login_attempts=5)
        calls = [_post(a, "/api/auth/login", {"username": email, "password": "wrong-Pa55"}, 0.0)]
        calls += [
            _post(b, "/api/auth/token", {"refreshToken": p["refreshToken"]}, 0.002 * i)
            for i, p in enumerate(pairs)
        ]
        answers = fire(calls)
        assert not _enabled(pair, user_id)
        assert _working_tokens(a, answers[1:]) == [], [r.text for r in answers]


def test_parallel_enrollment_calls_through_both_instances_never_fail(pair: Any) -> None:
    """50 generate and 50 submit calls of one user at once, half through each instance: no 5xx
    (they queue on the user's credentials row); every generate answers 200, a submit 200 or 429
    (the send caps), and one pending state per method is left."""
    a, b = pair.urls
    email = "enrolling@example.com"
    create_user(pair.container, email, PASSWORD)
    with http(a) as c:
        admin = sysadmin(a)
        assert c.post("/api/2fa/settings", headers=admin, json=platform()).status_code == 200
        token = c.post("/api/auth/login", json={"username": email, "password": PASSWORD}).json()["token"]
    headers = {"X-Authorization": f"Bearer {token}"}

    def call(url: str, path: str, body: dict[str, Any] | None) -> Any:
        def run() -> httpx.Response:
            with http(url) as c:
                return c.post(path, headers=headers, json=body)

        return run

    generate = "/api/2fa/account/config/generate?providerType=TOTP"
    submit = "/api/2fa/account/config/submit"
    email_body = {"providerType": "EMAIL", "useByDefault": False, "email": "me@example.com"}
    calls = [call((a, b)[i % 2], generate, None) for i in range(50)]
    calls += [call((a, b)[i % 2], submit, email_body) for i in range(50)]
    answers = fire(calls)
    assert {r.status_code for r in answers[:50]} == {200}, [r.text for r in answers[:50]][:3]
    submitted = {r.status_code for r in answers[50:]}
    assert 200 in submitted and submitted <= {200, 429}, [r.text for r in answers[50:]][:3]
    with pair.container.db.read() as conn:
        kinds = sorted(r.provider_type for r in conn.execute(select(t.twofa_pending)).all())
    assert kinds == ["EMAIL", "TOTP"]
