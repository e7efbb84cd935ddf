"""HTTP helpers for the production tests: several instances, outbox codes by recipient, metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import bearer, oathtool, platform, secret_of
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD, outbox

ERROR_KEYS = {"status", "message", "errorCode", "timestamp"}
# TWOSTEP_METRICS_TOKEN of the test instances: /metrics is closed without it.
METRICS_TOKEN = "metrics-scraper-token-0123456789"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def http(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30)


def login(url: str, email: str, password: str) -> httpx.Response:
    with http(url) as c:
        return c.post("/api/auth/login", json={"username": email, "password": password})


def token_headers(url: str, email: str, password: str) -> dict[str, str]:
    r = login(url, email, password)
    assert r.status_code == 200, r.text
    return bearer(r.json()["token"])


def pre_token(url: str, email: str, password: str) -> dict[str, str]:
    r = login(url, email, password)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "PRE_VERIFICATION_TOKEN", r.text
    return bearer(r.json()["token"])


def sysadmin(url: str) -> dict[str, str]:
    return token_headers(url, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)


def save_platform(url: str, **overrides: Any) -> None:
    with http(url) as c:
        r = c.post("/api/2fa/settings", headers=sysadmin(url), json=platform(**overrides))
    assert r.status_code == 200, r.text


def send(url: str, headers: dict[str, str], provider: str = "EMAIL") -> httpx.Response:
    with http(url) as c:
        return c.post(
            "/api/auth/2fa/verification/send", headers=headers, params={"providerType": provider}
        )


def check(url: str, headers: dict[str, str], code: str, provider: str = "EMAIL") -> httpx.Response:
    with http(url) as c:
        return c.post(
            "/api/auth/2fa/verification/check",
            headers=headers,
            params={"providerType": provider, "verificationCode": code},
        )


def code_for(config: Any, recipient: str, *, after: int = 0, timeout: float = 10) -> str:
    """The newest code mailed to recipient (outbox, shared by every instance) after `after` ms."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        mails = [
            m for m in outbox(config) if m.get("to") == recipient and m["time"] >= after
            and "Your verification code: " in m.get("body", "")
        ]  # fmt: skip
        if mails:
            return mails[-1]["body"].split("Your verification code: ")[1][:6]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"no code mailed to {recipient}")


def enroll_email(urls: Sequence[str], config: Any, headers: dict[str, str], email: str) -> None:
    """Submit on one instance, verify the mailed code on another."""
    body = {"providerType": "EMAIL", "useByDefault": True, "email": email}
    started = int(time.time() * 1000)
    with http(urls[0]) as c:
        r = c.post("/api/2fa/account/config/submit", headers=headers, json=body)
    assert r.status_code == 200, r.text
    code = code_for(config, email, after=started)
    with http(urls[1 % len(urls)]) as c:
        r = c.post(
            "/api/2fa/account/config", headers=headers, params={"verificationCode": code}, json=body
        )
    assert r.status_code == 200, r.text


def generate_totp(url: str, headers: dict[str, str]) -> tuple[str, str]:
    with http(url) as c:
        r = c.post(
            "/api/2fa/account/config/generate", headers=headers, params={"providerType": "TOTP"}
        )
    assert r.status_code == 200, r.text
    auth_url = r.json()["authUrl"]
    return auth_url, secret_of(auth_url)


def save_totp(url: str, headers: dict[str, str], auth_url: str, secret: str) -> httpx.Response:
    # The previous step's code (accepted by the drift window) leaves the current step for a login.
    code = oathtool(secret, time.time() - 30)
    with http(url) as c:
        return c.post(
            "/api/2fa/account/config",
            headers=headers,
            params={"verificationCode": code},
            json={"providerType": "TOTP", "useByDefault": True, "authUrl": auth_url},
        )


def fire(calls: Sequence[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run every call at once (a barrier releases all threads together)."""
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def assert_error_shape(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert ERROR_KEYS <= set(body), body
    assert body["status"] == status


# -- metrics --------------------------------------------------------------------------------------


def metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} from one instance's /metrics."""
    r = httpx.get(url + "/metrics", headers=METRICS_AUTH, timeout=10)
    assert r.status_code == 200, r.text
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            samples[key] = samples.get(key, 0.0) + s.value
    return samples


def total(urls: Sequence[str], name: str, **labels: str) -> float:
    """A counter summed over instances (and over the label values not given)."""
    result = 0.0
    for url in urls:
        for (sample, sample_labels), value in metrics(url).items():
            if sample != name:
                continue
            have = dict(sample_labels)
            if all(have.get(k) == v for k, v in labels.items()):
                result += value
    return result
