"""Password login, tokens and revocation, password change/reset, activation, security settings, audit."""

from __future__ import annotations

import re

import jwt
import pytest

from tests.factories import age_refreshes, bearer, create_user
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD, deliver_queued_mail, outbox

EMAIL = "tenant@example.com"
PASSWORD = "tenant-Pa55word"


def _login(client, email=EMAIL, password=PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"username": email, "password": password})


def test_sysadmin_token_claims(client) -> None:  # type: ignore[no-untyped-def]
    body = _login(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD).json()
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "HS512"
    assert claims["scopes"] == ["SYS_ADMIN"] and claims["sub"] == SYSADMIN_EMAIL
    assert claims["tenantId"] == "13814000-1dd2-11b2-8080-808080808080"
    assert claims["exp"] - claims["iat"] == 9000
    refresh = jwt.decode(body["refreshToken"], options={"verify_signature": False})
    assert refresh["scopes"] == ["REFRESH_TOKEN"] and refresh["sessionId"] == claims["sessionId"]
    # ThingsBoard's 604800 s, cut to the sign-in's maximum age (24 h by default; see
    # tests/security/test_session_lifetime.py).
    assert refresh["exp"] - refresh["iat"] == 86400


def test_both_authorization_headers_accepted(client) -> None:  # type: ignore[no-untyped-def]
    token = _login(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD).json()["token"]
    assert client.get("/api/auth/user", headers={"X-Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/auth/user", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    r = client.get("/api/auth/user")
    assert r.status_code == 401 and r.json()["message"] == "Authentication failed"
    r = client.get("/api/auth/user", headers={"X-Authorization": "Bearer abc"})
    assert r.status_code == 401 and r.json()["message"] == "Invalid username or password"


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"username": "x"}', b'{"username": 1, "password": 2}',
                                  b'{"username": "", "password": "x"}'])
def test_login_bad_bodies(client, body) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and r.json()["message"] == "Authentication failed"


def test_login_wrong_method(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/auth/login")
    assert r.status_code == 401 and r.json()["message"] == "Authentication method not supported"


def test_unknown_user_and_wrong_password_look_the_same(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    a = _login(client, EMAIL, "wrong").json()
    b = _login(client, "nobody@example.com", "wrong").json()
    assert (a["status"], a["message"], a["errorCode"]) == (b["status"], b["message"], b["errorCode"])
    assert a["message"] == "Invalid username or password"


def test_password_lockout_and_unlock(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    """Issue 2, must-show 4: wrong passwords past maxFailedLoginAttempts lock the account with
    ThingsBoard's message; the sysadmin unlocks it through userCredentialsEnabled."""
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings.update(maxFailedLoginAttempts=3, userLockoutNotificationEmail="security@example.com")
    assert client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings).status_code == 200
    user_id = create_user(container, EMAIL, PASSWORD)
    answers = [_login(client, EMAIL, "wrong").json()["message"] for _ in range(4)]
    assert answers == ["Invalid username or password"] * 3 + ["User account is locked due to security policy"]
    r = _login(client)  # the right password is answered as a wrong one: no oracle
    assert r.status_code == 401 and r.json()["message"] == "User account is locked due to security policy"
    deliver_queued_mail(container)
    mails = [m for m in outbox(container.config) if m["to"] == "security@example.com"]
    assert len(mails) == 1 and EMAIL in mails[0]["body"]
    r = client.post(f"/api/user/{user_id}/userCredentialsEnabled?userCredentialsEnabled=true", headers=sysadmin_headers)
    assert r.status_code == 200
    assert _login(client).status_code == 200
    logs = client.get("/api/audit/logs?pageSize=100&page=0&actionTypes=LOCKOUT", headers=full(client))
    assert [e["actionType"] for e in logs.json()["data"]] == ["LOCKOUT"]
    assert logs.json()["data"][0]["actionData"]["clientAddress"] == "testclient"


def full(client):  # type: ignore[no-untyped-def]
    return bearer(_login(client).json()["token"])


def test_unknown_users_lock_out_too(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings.update(maxFailedLoginAttempts=2)
    client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings)
    answers = [_login(client, "ghost@example.com", "wrong").json()["message"] for _ in range(3)]
    assert answers[-1] == "User account is locked due to security policy"


def test_refresh_rotates_and_logout_ends_the_login(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    pair = _login(client).json()
    other_login = _login(client).json()
    r = client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]})
    assert r.status_code == 200
    fresh = r.json()
    assert jwt.decode(fresh["token"], options={"verify_signature": False})["sessionId"] != jwt.decode(
        pair["token"], options={"verify_signature": False})["sessionId"]
    # An access token is not a refresh token.
    r = client.post("/api/auth/token", json={"refreshToken": pair["token"]})
    assert r.status_code == 401
    # Logout ends the whole login (the pair and the pairs refreshed from it), not other logins.
    assert client.post("/api/auth/logout", headers=bearer(fresh["token"])).status_code == 200
    for ended in (pair, fresh):
        assert client.get("/api/auth/user", headers=bearer(ended["token"])).status_code == 401
    r = client.post("/api/auth/token", json={"refreshToken": fresh["refreshToken"]})
    assert r.status_code == 401 and r.json()["message"] == "Token is outdated"
    assert client.get("/api/auth/user", headers=bearer(other_login["token"])).status_code == 200


def test_a_refresh_token_replayed_ends_its_family(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    pair = _login(client).json()
    first = client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]}).json()
    # The same refresh token again after the grace period (a thief racing the owner): refused,
    # and the family ends.
    age_refreshes(container, container.config.refresh_grace_s + 1)
    assert client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]}).status_code == 401
    assert client.get("/api/auth/user", headers=bearer(first["token"])).status_code == 401


def test_change_password_revokes_every_token(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    other = _login(client).json()
    mine = _login(client).json()
    r = client.post("/api/auth/changePassword", headers=bearer(mine["token"]),
                    json={"currentPassword": "nope", "newPassword": "new-Pa55word"})
    assert r.status_code == 400 and r.json()["message"] == "Current password doesn't match!"
    r = client.post("/api/auth/changePassword", headers=bearer(mine["token"]),
                    json={"currentPassword": PASSWORD, "newPassword": "abc"})
    assert r.status_code == 400 and r.json()["message"] == "Password must be 6 or more characters in length."
    r = client.post("/api/auth/changePassword", headers=bearer(mine["token"]),
                    json={"currentPassword": PASSWORD, "newPassword": PASSWORD})
    assert r.status_code == 400 and r.json()["message"] == "New password should be different from existing!"
    r = client.post("/api/auth/changePassword", headers=bearer(mine["token"]),
                    json={"currentPassword": PASSWORD, "newPassword": "new-Pa55word"})
    assert r.status_code == 200
    new_pair = r.json()
    for old in (other["token"], mine["token"]):
        assert client.get("/api/auth/user", headers=bearer(old)).status_code == 401
    assert client.get("/api/auth/user", headers=bearer(new_pair["token"])).status_code == 200
    assert _login(client, EMAIL, "new-Pa55word").status_code == 200


def test_password_reset_by_email(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    old = _login(client).json()
    assert client.post("/api/noauth/resetPasswordByEmail", json={"email": "nobody@example.com"}).status_code == 200
    assert client.post("/api/noauth/resetPasswordByEmail", json={"email": EMAIL}).status_code == 200
    deliver_queued_mail(container)
    mail = [m for m in outbox(container.config) if m["to"] == EMAIL][-1]
    token = re.search(r"resetToken=([\w-]+)", mail["body"]).group(1)  # type: ignore[union-attr]
    assert len(token) == 40
    r = client.get(f"/api/noauth/resetPassword?resetToken={token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login/resetPassword?resetToken={token}"
    assert client.get("/api/noauth/resetPassword?resetToken=unknown", follow_redirects=False).status_code == 409
    r = client.post("/api/noauth/resetPassword", json={"resetToken": token, "password": "reset-Pa55word"})
    assert r.status_code == 200 and r.content == b""
    assert client.get("/api/auth/user", headers=bearer(old["token"])).status_code == 401
    r = client.post("/api/noauth/resetPassword", json={"resetToken": token, "password": "again-Pa55word"})
    assert r.status_code == 400 and r.json()["message"] == "Invalid reset token!"
    assert _login(client, EMAIL, "reset-Pa55word").status_code == 200


def test_security_settings_defaults_and_validation(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    assert settings["passwordPolicy"]["minimumLength"] == 6 and settings["userActivationTokenTtl"] == 24
    broken = {k: v for k, v in settings.items() if k != "passwordPolicy"}
    r = client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=broken)
    assert r.status_code == 400 and "passwordPolicy" in r.json()["message"]
    assert client.get("/api/admin/securitySettings", headers=sysadmin_headers).json() == settings


def test_argon2id_default_parameters() -> None:
    from twostep.config import Config
    from twostep.crypto import PasswordHasher

    config = Config()
    stored = PasswordHasher(memory_kib=config.argon2_memory_kib, time_cost=config.argon2_time_cost,
                            parallelism=config.argon2_parallelism).hash("x")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_correct_password_resets_the_password_failure_count(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings.update(maxFailedLoginAttempts=3)
    client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings)
    create_user(container, EMAIL, PASSWORD)
    for _ in range(3):
        assert _login(client, EMAIL, "wrong").json()["message"] == "Invalid username or password"
    assert _login(client).status_code == 200
    for _ in range(3):
        assert _login(client, EMAIL, "wrong").json()["message"] == "Invalid username or password"
    assert _login(client).status_code == 200
