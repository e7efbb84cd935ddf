"""Guessing a password is limited on every path that checks one (NIST SP 800-63B-4 §3.2.2: at
most 100 consecutive failures per account; ASVS 6.3.1), and the owner hears of a change.

ThingsBoard's default (`maxFailedLoginAttempts` null) never locks: unlimited guesses. twostep
treats no limit, 0 and anything above 100 as 100. A wrong current password on a password change
counts like a failed login, so a stolen session cannot be used to guess the password either."""

from __future__ import annotations

from tests.factories import bearer, create_user
from tests.support import outbox

EMAIL = "jane@example.com"
PASSWORD = "jane-Pa55word-ok"
LOCKED = "User account is locked due to security policy"


def _login(client, email: str = EMAIL, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"username": email, "password": password})


def _set_limit(client, sysadmin_headers, limit) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings["maxFailedLoginAttempts"] = limit
    r = client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings)
    assert r.status_code == 200, r.text


def test_no_limit_in_the_settings_still_locks_after_100_wrong_passwords(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    for limit in (None, 0, 5000):
        _set_limit(client, sysadmin_headers, limit)
        email = f"user{limit}@example.com"
        create_user(container, email, PASSWORD)
        answers = [_login(client, email, "wrong-guess").json()["message"] for _ in range(101)]
        assert answers[:100] == ["Invalid username or password"] * 100, limit
        assert answers[100] == LOCKED, limit
        r = _login(client, email)  # the right password no longer helps, and is not told apart
        assert r.status_code == 401 and r.json()["message"] == LOCKED


def test_unknown_users_lock_out_at_the_same_cap(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    answers = [_login(client, "ghost@example.com", "wrong-guess").json()["message"] for _ in range(101)]
    assert answers[-1] == LOCKED and answers[-2] == "Invalid username or password"


def test_a_wrong_current_password_on_a_change_counts_as_a_failed_login(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    _set_limit(client, sysadmin_headers, 3)
    create_user(container, EMAIL, PASSWORD)
    headers = bearer(_login(client).json()["token"])
    change = {"currentPassword": "wrong-guess", "newPassword": "changed-Pa55word-ok"}
    for _ in range(3):
        r = client.post("/api/auth/changePassword", headers=headers, json=change)
        assert r.status_code == 400 and r.json()["message"] == "Current password doesn't match!"
    r = client.post("/api/auth/changePassword", headers=headers, json=change)
    assert r.status_code == 401 and r.json()["message"] == LOCKED, r.text
    assert client.get("/api/auth/user", headers=headers).status_code == 401  # signed out
    assert _login(client).json()["message"] == LOCKED


def test_a_password_change_is_audited_and_told_to_the_owner(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    r = client.post(
        "/api/auth/changePassword",
        headers={**bearer(_login(client).json()["token"]), "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
        json={"currentPassword": PASSWORD, "newPassword": "changed-Pa55word-ok"},
    )
    assert r.status_code == 200, r.text
    mails = [m for m in outbox(container.config) if m["to"] == EMAIL]
    assert mails and "password changed" in mails[-1]["subject"].lower(), mails
    body = mails[-1]["body"]
    assert "testclient" in body and "Firefox 128" in body and "/login/resetPasswordRequest" in body
    assert "changed-Pa55word-ok" not in body and PASSWORD not in body
    tenant_admin = bearer(_login(client, EMAIL, "changed-Pa55word-ok").json()["token"])
    logs = client.get(
        "/api/audit/logs?pageSize=10&page=0&actionTypes=CREDENTIALS_UPDATED", headers=tenant_admin
    ).json()["data"]
    assert [(e["entityName"], e["actionData"]["password"]) for e in logs] == [(EMAIL, "changed")]
