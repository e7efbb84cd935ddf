"""An instance killed with SIGKILL during a load of enrollments and logins, then restarted: every
acknowledged enrollment is intact and no code was used twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select

from tests.factories import create_user, oathtool
from tests.production.helpers import generate_totp, save_platform, total
from twostep.storage import tables as t

PASSWORD = "user-Pa55word"
USERS = 36
THREADS = 6


def _cycle(urls: list[str], index: int, email: str, result: dict[str, Any]) -> None:
    """Enroll TOTP, then log in twice with the same code through the two instances (the second
    must be refused). Any transport error ends the cycle: only acknowledged steps are recorded."""
    first, second = urls[index % 2], urls[(index + 1) % 2]
    try:
        with httpx.Client(timeout=20) as http:
            r = http.post(first + "/api/auth/login", json={"username": email, "password": PASSWORD})
            if r.status_code != 200:
                return
            headers = {"X-Authorization": f"Bearer {r.json()['token']}"}
            auth_url, secret = generate_totp(first, headers)
            code = oathtool(secret, time.time() - 30)
            r = http.post(
                second + "/api/2fa/account/config",
                headers=headers,
                params={"verificationCode": code},
                json={"providerType": "TOTP", "useByDefault": True, "authUrl": auth_url},
            )
            if r.status_code != 200:
                return
            result["enrolled"][email] = secret  # acknowledged

            code = oathtool(secret)
            for url in (first, second, first):
                r = http.post(
                    url + "/api/auth/login", json={"username": email, "password": PASSWORD}
                )
                if r.status_code != 200:
                    continue
                pv = {"X-Authorization": f"Bearer {r.json()['token']}"}
                r = http.post(
                    url + "/api/auth/2fa/verification/check",
                    headers=pv,
                    params={"providerType": "TOTP", "verificationCode": code},
                )
                result["checks"].append((email, code, r.status_code))
    except (httpx.HTTPError, AssertionError):
        result["errors"] += 1


def test_sigkill_during_load_loses_no_acknowledged_enrollment(make_cluster: Any) -> None:
    cluster = make_cluster()
    a, b = cluster.add("a"), cluster.add("b")
    a.start()
    b.start()
    a.wait_ready()
    b.wait_ready()
    urls = [a.url, b.url]
    save_platform(b.url, maxVerificationFailuresBeforeUserLockout=100)
    emails = [f"load{i}@example.com" for i in range(USERS)]
    for email in emails:
        create_user(cluster.container, email, PASSWORD)

    result: dict[str, Any] = {"enrolled": {}, "checks": [], "errors": 0}
    lock = threading.Lock()
    queue = list(enumerate(emails))

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                index, email = queue.pop(0)
            _cycle(urls, index, email, result)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for th in threads:
        th.start()
    # Kill instance a (supervisor and worker, no shutdown) while the load runs; restart it.
    while len(result["enrolled"]) < USERS // 4 and any(th.is_alive() for th in threads):
        time.sleep(0.01)
    a.kill()
    killed_at_enrolled = len(result["enrolled"])
    time.sleep(0.5)
    a.start().wait_ready()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads)

    enrolled = result["enrolled"]
    assert killed_at_enrolled < USERS, "the kill came after the load"
    assert len(enrolled) >= USERS // 4

    # Every acknowledged enrollment is intact: stored, and its secret decrypts to the one enrolled.
    box = cluster.container.box
    with cluster.container.db.read() as conn:
        rows = conn.execute(
            select(t.user.c.email, t.twofa_config.c.id, t.twofa_config.c.totp_secret_enc)
            .join(t.twofa_config, t.twofa_config.c.user_id == t.user.c.id)
            .where(t.twofa_config.c.provider_type == "TOTP")
        ).all()
    stored = {r.email: box.open(r.totp_secret_enc, context=f"totp:{r.id}") for r in rows}
    for email, secret in enrolled.items():
        assert email in stored, f"acknowledged enrollment of {email} lost"
        assert stored[email].upper().rstrip("=") == secret.upper().rstrip("=")

    # ...and served by the restarted instance: a login there asks for the second step with TOTP.
    for email in list(enrolled)[:5]:
        r = httpx.post(a.url + "/api/auth/login", json={"username": email, "password": PASSWORD})
        assert r.status_code == 200 and r.json()["scope"] == "PRE_VERIFICATION_TOKEN", r.text
        providers = httpx.get(
            a.url + "/api/auth/2fa/providers",
            headers={"X-Authorization": f"Bearer {r.json()['token']}"},
        ).json()
        assert [p["type"] for p in providers] == ["TOTP"], providers

    # No code used twice: per user and code, at most one success among all acknowledged checks.
    successes = Counter((email, code) for email, code, status in result["checks"] if status == 200)
    assert successes, result["checks"]
    assert max(successes.values()) == 1, successes
    assert {s for _, _, s in result["checks"]} <= {200, 400, 503}, result["checks"]
    # The server's own record agrees, acknowledged or not: each user logged in with one TOTP code
    # (one time step), so at most one login attempt per user was completed with it.
    with cluster.container.db.read() as conn:
        verified = conn.execute(
            select(t.login_attempt.c.user_id).where(t.login_attempt.c.state == "VERIFIED")
        ).all()
    per_user = Counter(r.user_id for r in verified)
    assert per_user and max(per_user.values()) == 1, per_user
    assert result["errors"] >= 1, "the kill interrupted nothing"
    # The surviving instance counted the load.
    assert total([b.url], "twostep_second_step_checks_total", result="success") >= 1
