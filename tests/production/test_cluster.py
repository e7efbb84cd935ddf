"""Three `twostep serve` instances on one PostgreSQL database and one Redis: the second step, its
limits, the failure count and the lockout hold across instances; one code succeeds exactly once."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.factories import create_user, fresh_step_time, oathtool
from tests.production.helpers import (
    METRICS_AUTH,
    check,
    code_for,
    enroll_email,
    fire,
    generate_totp,
    login,
    pre_token,
    save_platform,
    save_totp,
    send,
    token_headers,
    total,
)
from twostep.services.twofa import second_step

PASSWORD = "user-Pa55word"
PARALLEL = 60


@pytest.fixture(scope="module")
def cluster(make_cluster: Any) -> Any:
    c = make_cluster()
    # Instance a runs two workers (Prometheus multiprocess mode); all three start at once
    # (migrations serialised by the advisory lock in `serve`).
    servers = [c.add("a", workers=2), c.add("b"), c.add("c")]
    for s in servers:
        s.start()
    for s in servers:
        s.wait_ready()
    c.urls = [s.url for s in servers]
    c.codes_seen = []  # every code and token a test used: none may appear in the logs
    return c


def _user_with_email_2fa(cluster: Any, name: str) -> str:
    email = f"{name}@example.com"
    create_user(cluster.container, email, PASSWORD)
    a, b, _ = cluster.urls
    enroll_email([a, b], cluster.container.config, token_headers(a, email, PASSWORD), email)
    return email


def test_code_sent_through_one_instance_is_checked_through_another(cluster: Any) -> None:
    a, b, c = cluster.urls
    save_platform(a, minVerificationCodeSendPeriod=30, maxVerificationFailuresBeforeUserLockout=30)
    email = _user_with_email_2fa(cluster, "alice")
    before = total(cluster.urls, "twostep_second_step_checks_total", result="success")
    sent_before = total(cluster.urls, "twostep_code_sends_total", flow="login", result="sent")

    pv = pre_token(c, email, PASSWORD)
    started = int(time.time() * 1000)
    assert send(a, pv).status_code == 200
    # The send limit (one per minVerificationCodeSendPeriod) is shared: b and c refuse at once.
    assert send(b, pv).status_code == 429
    assert send(c, pv).status_code == 429
    code = code_for(cluster.container.config, email, after=started)
    cluster.codes_seen += [code, pv["X-Authorization"].split()[1]]

    r = check(b, pv, code)
    assert r.status_code == 200, r.text
    assert r.json()["token"] and r.json()["refreshToken"]
    # Used once: the same code and token through the third instance are refused.
    assert check(c, pv, code).status_code in (400, 401)

    assert total(cluster.urls, "twostep_second_step_checks_total", result="success") == before + 1
    assert (
        total(cluster.urls, "twostep_code_sends_total", flow="login", result="sent")
        >= sent_before + 1
    )
    assert total(cluster.urls, "twostep_code_sends_total", flow="login", result="rate_limited") >= 2


def test_check_rate_limit_holds_across_instances(cluster: Any) -> None:
    a, b, c = cluster.urls
    save_platform(
        a, verificationCodeCheckRateLimit="3:900", maxVerificationFailuresBeforeUserLockout=30
    )
    email = _user_with_email_2fa(cluster, "bob")
    limited_before = total(cluster.urls, "twostep_second_step_checks_total", result="rate_limited")
    pv = pre_token(a, email, PASSWORD)
    started = int(time.time() * 1000)
    assert send(b, pv).status_code == 200
    code = code_for(cluster.container.config, email, after=started)
    cluster.codes_seen.append(code)
    for url in (a, b, c):
        assert check(url, pv, "000000" if code != "000000" else "111111").status_code == 400
    # The fourth check in the window is refused on any instance, the right code included: the
    # limit is consulted before the code.
    r = check(a, pv, code)
    assert r.status_code == 429, r.text
    assert check(b, pv, code).status_code == 429
    assert (
        total(cluster.urls, "twostep_second_step_checks_total", result="rate_limited")
        >= limited_before + 2
    )


def test_failure_count_and_lockout_hold_across_instances(cluster: Any) -> None:
    a, b, c = cluster.urls
    save_platform(
        a, verificationCodeCheckRateLimit=None, maxVerificationFailuresBeforeUserLockout=4
    )
    email = _user_with_email_2fa(cluster, "carol")
    lockouts_before = total(cluster.urls, "twostep_lockouts_total", kind="second_step")

    pv = pre_token(a, email, PASSWORD)
    assert check(a, pv, "000001").status_code == 400
    assert check(b, pv, "000002").status_code == 400
    # A new password login on another instance does not reset the 2FA failure count.
    pv = pre_token(b, email, PASSWORD)
    assert check(c, pv, "000003").status_code == 400
    pv = pre_token(c, email, PASSWORD)
    r = check(a, pv, "000004")
    assert r.status_code == 401, r.text
    assert r.json()["message"] == second_step.LOCKED
    # Locked everywhere.
    for url in (a, b, c):
        assert login(url, email, PASSWORD).status_code == 401
    assert total(cluster.urls, "twostep_lockouts_total", kind="second_step") == lockouts_before + 1
    assert total(cluster.urls, "twostep_second_step_checks_total", result="locked") >= 1


def test_60_parallel_checks_of_one_email_code_give_one_success(cluster: Any) -> None:
    a, _b, c = cluster.urls
    save_platform(
        a, verificationCodeCheckRateLimit=None, maxVerificationFailuresBeforeUserLockout=100
    )
    email = _user_with_email_2fa(cluster, "dave")
    pv = pre_token(a, email, PASSWORD)
    started = int(time.time() * 1000)
    assert send(c, pv).status_code == 200
    code = code_for(cluster.container.config, email, after=started)
    cluster.codes_seen.append(code)
    urls = [cluster.urls[i % 3] for i in range(PARALLEL)]
    responses = fire([lambda u=u: check(u, pv, code) for u in urls])
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 400, 401}, statuses


def test_60_parallel_checks_of_one_totp_code_on_60_logins_give_one_success(cluster: Any) -> None:
    a, b, _c = cluster.urls
    save_platform(
        a, verificationCodeCheckRateLimit=None, maxVerificationFailuresBeforeUserLockout=100
    )
    email = "erin@example.com"
    create_user(cluster.container, email, PASSWORD)
    # One sign-in, two instances: a pending enrollment belongs to the sign-in that started it.
    headers = token_headers(a, email, PASSWORD)
    auth_url, secret = generate_totp(a, headers)
    assert save_totp(b, headers, auth_url, secret).status_code == 200
    tokens = fire(
        [lambda i=i: login(cluster.urls[i % 3], email, PASSWORD) for i in range(PARALLEL)]
    )
    headers = [{"X-Authorization": f"Bearer {r.json()['token']}"} for r in tokens]
    at = fresh_step_time()
    if 30 - at % 30 < 4:  # keep the burst inside one time step
        time.sleep(30 - at % 30 + 0.2)
    code = oathtool(secret)
    cluster.codes_seen.append(code)
    responses = fire(
        [lambda i=i: check(cluster.urls[i % 3], headers[i], code, "TOTP") for i in range(PARALLEL)]
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 400}, statuses


def test_metrics_health_and_logs_of_the_instances(cluster: Any) -> None:
    a, _b, _c = cluster.urls
    import httpx

    for url in cluster.urls:
        ready = httpx.get(url + "/readyz").json()
        assert ready == {"status": "UP", "checks": {"database": "UP", "redis": "UP"}}
        assert httpx.get(url + "/healthz").json() == {"status": "UP"}
    # Request id: a sane inbound id is echoed, anything else is replaced.
    r = httpx.get(a + "/healthz", headers={"X-Request-Id": "lb-1234.abc"})
    assert r.headers["x-request-id"] == "lb-1234.abc"
    r = httpx.get(a + "/healthz", headers={"X-Request-Id": "bad id\twith spaces" * 10})
    assert r.headers["x-request-id"] != "bad id" and len(r.headers["x-request-id"]) == 32
    # Every instance counted requests; a (two workers) aggregates both workers' samples.
    for url in cluster.urls:
        assert total([url], "twostep_http_requests_total") > 0
    assert total(cluster.urls, "twostep_logins_total", result="second_step") >= 5
    assert total(cluster.urls, "twostep_second_step_checks_total", result="incorrect") >= 3
    assert total(cluster.urls, "twostep_http_request_duration_seconds_count") > 0
    scraped = httpx.get(a + "/metrics", headers=METRICS_AUTH).text
    assert "twostep_http_request_duration_seconds_bucket" in scraped
    assert httpx.get(a + "/metrics").status_code == 401

    # Logs: JSON lines with request ids; no code, token or query string anywhere.
    for server in cluster.servers:
        text = server.log_path.read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        assert any(entry["logger"] == "twostep.access" for entry in lines)
        assert all("request_id" in entry for entry in lines)
        assert "verificationCode" not in text
        assert "Bearer " not in text
        for secret in cluster.codes_seen:
            assert secret not in text
