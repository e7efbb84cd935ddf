"""A11: code and secret leakage through responses, logs, caches and referrers (spec/security.md §4).

The defences: after `generate` the TOTP secret and the backup codes never leave the server again
(the authUrl is redacted, codes are []); contacts are masked in the second-step provider list;
nothing logs a code, secret, password or token; API answers carry `Cache-Control: no-store` and
`Referrer-Policy: no-referrer`.

Not applicable / by design: ThingsBoard's API puts `verificationCode` (check) and the reset and
activation tokens (GET /api/noauth/...) in the query string, so "no secrets in URLs" cannot hold
for those routes without breaking its clients; what we can demand is that they do not end up in
our logs - see the `twostep serve` access-log test below.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.factories import bearer, oathtool, secret_of
from tests.security.helpers import (
    MAX_FAILURES,
    check,
    last_code_to,
    pv_of,
    send,
    wrong_totp,
)
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD, deliver_queued_mail, free_port, outbox
from tests.twofa_helpers import enroll_backup, enroll_delivered, login

CLIENT_SIDE_LOGGERS = ("httpx", "httpcore", "hpack", "hypothesis", "asyncio", "multipart")


# -- responses -------------------------------------------------------------------------------------


def test_the_totp_secret_is_shown_only_by_generate(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    answers = {
        "settings": client.get("/api/2fa/account/settings", headers=victim.headers),
        "admin view": client.get(f"/api/2fa/{victim.id}/settings", headers=sysadmin_headers),
        "update": client.put(
            "/api/2fa/account/config?providerType=EMAIL",
            headers=victim.headers,
            json={"useByDefault": True},
        ),
        "providers": client.get("/api/auth/2fa/providers", headers=pv_of(client, victim)),
        "delete": client.delete(
            "/api/2fa/account/config?providerType=EMAIL", headers=victim.headers
        ),
    }
    for name, r in answers.items():
        assert r.status_code == 200, (name, r.text)
        assert victim.secret not in r.text and victim.secret.lower() not in r.text.lower(), name
    auth_url = answers["settings"].json()["configs"]["TOTP"]["authUrl"]
    assert secret_of(auth_url) != victim.secret and auth_url.startswith("otpauth://totp/")


def test_the_verify_and_save_answer_does_not_echo_the_secret(client, victim) -> None:  # type: ignore[no-untyped-def]
    assert (
        client.delete(
            "/api/2fa/account/config?providerType=TOTP", headers=victim.headers
        ).status_code
        == 200
    )
    generated = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=victim.headers
    ).json()
    secret = secret_of(generated["authUrl"])
    r = client.post(
        f"/api/2fa/account/config?verificationCode={oathtool(secret)}",
        headers=victim.headers,
        json={"providerType": "TOTP", "useByDefault": True, "authUrl": generated["authUrl"]},
    )
    assert r.status_code == 200 and secret not in r.text


def test_the_second_step_shows_contacts_masked(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "SMS", "+380501253652")
    enroll_delivered(client, container, victim.headers, "EMAIL", "abcdefko@gmail.com")
    r = client.get("/api/auth/2fa/providers", headers=pv_of(client, victim))
    assert "+380501253652" not in r.text and "abcdefko@" not in r.text
    assert {i["type"]: i["contact"] for i in r.json()} == {
        "TOTP": None,
        "SMS": "+38********52",
        "EMAIL": "ab****ko@gmail.com",
    }


def test_wrong_codes_are_not_echoed_anywhere(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    guess = wrong_totp(victim.secret)
    r = check(client, pv, "TOTP", guess)
    assert r.status_code == 400 and guess not in r.text
    r = check(client, pv, "BACKUP_CODE", "0123456789abcdef")
    assert "0123456789abcdef" not in r.text
    # The owner's "failed second step" notice names neither the guess nor a valid code.
    notes = [m for m in outbox(container.config) if m["to"] == victim.email]
    assert notes and all(
        guess not in m["body"] and oathtool(victim.secret) not in m["body"] for m in notes
    )


def test_the_code_travels_only_in_the_message_body(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    pv = pv_of(client, victim)
    assert send(client, pv, "EMAIL").status_code == 200
    message = outbox(container.config)[-1]
    code = last_code_to(container, "inbox@example.com")
    assert code not in message["subject"]


@pytest.mark.parametrize("kind", ["success", "error"])
def test_api_answers_are_never_cached(container, client, victim, kind) -> None:  # type: ignore[no-untyped-def]
    if kind == "success":
        pv = pv_of(client, victim)
        answers = [
            client.post(
                "/api/auth/login", json={"username": victim.email, "password": victim.password}
            ),
            client.get("/api/auth/2fa/providers", headers=pv),
            check(client, pv, "TOTP", oathtool(victim.secret)),
            client.post(
                "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=victim.headers
            ),
            client.post(
                "/api/2fa/account/config/generate?providerType=TOTP", headers=victim.headers
            ),
            client.get("/api/2fa/account/settings", headers=victim.headers),
            client.get("/api/auth/user", headers=victim.headers),
        ]
        assert all(r.status_code == 200 for r in answers), [r.status_code for r in answers]
    else:
        answers = [
            client.post("/api/auth/login", json={"username": victim.email, "password": "nope"}),
            check(client, pv_of(client, victim), "TOTP", wrong_totp(victim.secret)),
            client.get("/api/auth/user"),
            client.get("/api/no/such/route"),
        ]
    for r in answers:
        assert "no-store" in r.headers.get("cache-control", ""), (r.request.url, r.headers)
        assert r.headers.get("referrer-policy") == "no-referrer", r.request.url


# -- logs --------------------------------------------------------------------------------------------


def test_full_flows_log_no_code_secret_password_or_token(
    container, client, sysadmin_headers, victim, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    secrets = {"password": victim.password, "totp secret": victim.secret}
    backup = enroll_backup(client, victim.headers)
    secrets.update({f"backup {i}": c for i, c in enumerate(backup)})
    enroll_delivered(client, container, victim.headers, "SMS", "+12015551111")
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    pending = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=victim.headers
    ).json()
    secrets["pending totp secret"] = secret_of(pending["authUrl"])
    tokens = []
    for provider, target in (("SMS", "+12015551111"), ("EMAIL", "inbox@example.com")):
        pv = pv_of(client, victim)
        tokens.append(pv["X-Authorization"][7:])
        assert check(client, pv, provider, "000000").status_code == 400
        assert send(client, pv, provider).status_code == 200
        pair = check(client, pv, provider, last_code_to(container, target)).json()
        tokens += [pair["token"], pair["refreshToken"]]
    pair = check(client, pv_of(client, victim), "BACKUP_CODE", backup[1]).json()
    tokens += [pair["token"], pair["refreshToken"]]
    pair = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).json()
    tokens += [pair["token"], pair["refreshToken"]]
    refreshed = client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]}).json()
    tokens += [refreshed["token"], refreshed["refreshToken"]]
    r = client.post(
        "/api/auth/changePassword",
        headers=bearer(refreshed["token"]),
        json={"currentPassword": victim.password, "newPassword": "second-Pa55word"},
    )
    assert r.status_code == 200, r.text
    secrets["new password"] = "second-Pa55word"
    tokens.append(r.json()["token"])
    client.post("/api/auth/logout", headers=bearer(r.json()["token"]))
    client.post("/api/noauth/resetPasswordByEmail", json={"email": victim.email})
    deliver_queued_mail(container)
    reset = re.search(r"resetToken=([\w-]+)", outbox(container.config)[-1]["body"]).group(1)  # type: ignore[union-attr]
    client.get(f"/api/noauth/resetPassword?resetToken={reset}", follow_redirects=False)
    assert (
        client.post(
            "/api/noauth/resetPassword", json={"resetToken": reset, "password": "third-Pa55word"}
        ).status_code
        == 200
    )
    secrets["reset token"] = reset
    secrets["third password"] = "third-Pa55word"
    # Wrong passwords and a lockout.
    client.post("/api/auth/login", json={"username": victim.email, "password": "guess-Pa55word"})
    secrets["guessed password"] = "guess-Pa55word"
    pv = bearer(login(client, victim.email, "third-Pa55word")["token"])
    for _ in range(MAX_FAILURES):
        check(client, pv, "TOTP", wrong_totp(victim.secret))
    secrets.update({f"token {i}": tok for i, tok in enumerate(tokens)})
    codes = {
        c for m in outbox(container.config) for c in re.findall(r"(?<!\d)\d{6}(?!\d)", m["body"])
    }

    records = [r for r in caplog.records if not r.name.startswith(CLIENT_SIDE_LOGGERS)]
    assert records  # the server did log (SQL at DEBUG, warnings)
    leaks = []
    for record in records:
        text = record.getMessage() + " " + (record.exc_text or "")
        for name, secret in secrets.items():
            if secret in text:
                leaks.append((name, record.name, text[:200]))
        for code in codes:
            if re.search(rf"(?<![0-9]){code}(?![0-9])", text):
                leaks.append(("code " + code, record.name, text[:200]))
    assert not leaks, leaks


def test_the_production_server_does_not_log_codes_or_tokens(tmp_path: Path) -> None:
    """Runs the real `twostep serve` (SQLite, outbox) and reads everything it printed: the access
    log must not carry the query string (verificationCode, resetToken, activateToken)."""
    port = free_port()
    env = dict(
        os.environ,
        TWOSTEP_DATA_DIR=str(tmp_path),
        TWOSTEP_SYSADMIN_EMAIL=SYSADMIN_EMAIL,
        TWOSTEP_SYSADMIN_PASSWORD=SYSADMIN_PASSWORD,
        TWOSTEP_OUTBOX="true",
        TWOSTEP_ARGON2_MEMORY_KIB="1024",
        TWOSTEP_ARGON2_TIME_COST="1",
    )
    env.pop("TWOSTEP_DATABASE_URL", None)
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "twostep.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 30
            while True:
                try:
                    httpx.get(base + "/api/noauth/userPasswordPolicy", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.time() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            with httpx.Client(base_url=base, timeout=10) as http:
                admin = bearer(
                    http.post(
                        "/api/auth/login",
                        json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
                    ).json()["token"]
                )
                r = http.post(
                    "/api/2fa/settings",
                    headers=admin,
                    json={
                        "providers": [{"providerType": "TOTP", "issuerName": "TB"}],
                        "minVerificationCodeSendPeriod": 30,
                        "maxVerificationFailuresBeforeUserLockout": 10,
                        "totalAllowedTimeForVerification": 600,
                    },
                )
                assert r.status_code == 200, r.text
                generated = http.post(
                    "/api/2fa/account/config/generate?providerType=TOTP", headers=admin
                ).json()
                secret = secret_of(generated["authUrl"])
                r = http.post(
                    f"/api/2fa/account/config?verificationCode={oathtool(secret, time.time() - 30)}",
                    headers=admin,
                    json={
                        "providerType": "TOTP",
                        "useByDefault": True,
                        "authUrl": generated["authUrl"],
                    },
                )
                assert r.status_code == 200, r.text
                pv = bearer(
                    http.post(
                        "/api/auth/login",
                        json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
                    ).json()["token"]
                )
                code = oathtool(secret)
                r = http.post(
                    "/api/auth/2fa/verification/check",
                    headers=pv,
                    params={"providerType": "TOTP", "verificationCode": code},
                )
                assert r.status_code == 200, r.text
                http.post("/api/noauth/resetPasswordByEmail", json={"email": SYSADMIN_EMAIL})
                found = None
                for _ in range(200):  # the reset mail goes out after the answer
                    outbox_file = tmp_path / "outbox.jsonl"
                    found = re.search(r"resetToken=([\w-]+)", outbox_file.read_text()) if outbox_file.exists() else None
                    if found:
                        break
                    time.sleep(0.05)
                reset = found.group(1)  # type: ignore[union-attr]
                http.get(f"/api/noauth/resetPassword?resetToken={reset}")
        finally:
            server.terminate()
            server.wait(timeout=20)
    printed = log_path.read_text()
    assert code not in printed, "the TOTP code is in the server log"
    assert reset not in printed, "the password-reset token is in the server log"
