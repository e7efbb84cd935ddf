"""HTTP helpers for 2FA tests: platform settings, enrollment, logins."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import bearer, fresh_step_time, oathtool, platform, secret_of
from tests.support import outbox


def save_platform(client: TestClient, admin: dict[str, str], **overrides: Any) -> dict[str, Any]:
    r = client.post("/api/2fa/settings", headers=admin, json=platform(**overrides))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def login(client: Any, email: str, password: str) -> dict[str, Any]:
    r = client.post("/api/auth/login", json={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def full_headers(client: Any, email: str, password: str) -> dict[str, str]:
    body = login(client, email, password)
    assert "scope" not in body, body
    return bearer(body["token"])


def last_code(container: Any, channel: str) -> str:
    message = [m for m in outbox(container.config) if m["channel"] == channel][-1]
    body = message["body"]
    if channel == "email":
        return body.split("Your verification code: ")[1][:6]  # type: ignore[no-any-return]
    return body[-6:]  # type: ignore[no-any-return]


def wait_next_step(after: float) -> float:
    step = int(after // 30)
    while int(time.time() // 30) <= step:
        time.sleep(0.1)
    return time.time()


def enroll_totp(client: Any, headers: dict[str, str], *, default: bool = True) -> str:
    fresh_step_time()  # not in the last 2 s of a step: the code below stays valid until checked
    generated = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=headers).json()
    secret = secret_of(generated["authUrl"])
    # The previous step's code (accepted by the drift window): the current step stays unused, so a
    # test can log in at once instead of waiting up to 30 s.
    code = oathtool(secret, time.time() - 30)
    r = client.post(
        f"/api/2fa/account/config?verificationCode={code}",
        headers=headers,
        json={"providerType": "TOTP", "useByDefault": default, "authUrl": generated["authUrl"]},
    )
    assert r.status_code == 200, r.text
    return secret


def enroll_delivered(client: Any, container: Any, headers: dict[str, str], kind: str, target: str) -> None:
    field = "phoneNumber" if kind == "SMS" else "email"
    body = {"providerType": kind, "useByDefault": False, field: target}
    r = client.post("/api/2fa/account/config/submit", headers=headers, json=body)
    assert r.status_code == 200, r.text
    code = last_code(container, "sms" if kind == "SMS" else "email")
    r = client.post(f"/api/2fa/account/config?verificationCode={code}", headers=headers, json=body)
    assert r.status_code == 200, r.text


def enroll_backup(client: Any, headers: dict[str, str]) -> list[str]:
    generated = client.post("/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=headers).json()
    r = client.post("/api/2fa/account/config", headers=headers, json=generated)
    assert r.status_code == 200, r.text
    return generated["codes"]  # type: ignore[no-any-return]


def pre_token(client: Any, email: str, password: str) -> dict[str, str]:
    body = login(client, email, password)
    assert body["scope"] == "PRE_VERIFICATION_TOKEN", body
    assert body["refreshToken"] is None
    return bearer(body["token"])


def check(client: Any, headers: dict[str, str], provider: str, code: str) -> Any:
    return client.post(
        "/api/auth/2fa/verification/check", headers=headers, params={"providerType": provider, "verificationCode": code}
    )
