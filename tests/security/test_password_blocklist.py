"""A weak password cannot be chosen by any way of choosing one (ASVS 6.2.4, 6.2.12): the
password change, the activation link and the reset link all refuse a common password and one
made of the user's email, with a 400 in ThingsBoard's shape, and change nothing."""

from __future__ import annotations

import re

from tests.factories import bearer, create_user
from tests.support import deliver_queued_mail, outbox

EMAIL = "jane.doe@example.com"
PASSWORD = "jane-Pa55word-ok"
COMMON = "Password is too common: it is in lists of passwords leaked in breaches. Choose another."
CONTEXT = "Password must not be made of your email address or the name of this service."


def _login(client, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"username": EMAIL, "password": password})


def _refused(r, message: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == 31 and r.json()["message"] == message, r.text


def test_a_password_change_refuses_weak_passwords(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    headers = bearer(_login(client).json()["token"])
    for weak, why in (("Password123!", COMMON), ("Jane.Doe2026", CONTEXT)):
        r = client.post(
            "/api/auth/changePassword",
            headers=headers,
            json={"currentPassword": PASSWORD, "newPassword": weak},
        )
        _refused(r, why)
        assert _login(client, weak).status_code == 401
    assert _login(client).status_code == 200


def test_the_policy_and_the_blocklist_are_reported_together(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings["passwordPolicy"]["minimumLength"] = 12
    assert client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings).status_code == 200
    create_user(container, EMAIL, PASSWORD)
    r = client.post(
        "/api/auth/changePassword",
        headers=bearer(_login(client).json()["token"]),
        json={"currentPassword": PASSWORD, "newPassword": "dragon"},
    )
    _refused(r, "Password must be 12 or more characters in length.\n" + COMMON)


def test_activation_refuses_weak_passwords(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    tenant = client.post("/api/tenant", headers=sysadmin_headers, json={"title": "Acme"}).json()
    r = client.post(
        "/api/user?sendActivationMail=true",
        headers=sysadmin_headers,
        json={"email": EMAIL, "authority": "TENANT_ADMIN", "tenantId": tenant["id"]},
    )
    assert r.status_code == 200, r.text
    token = re.search(r"activateToken=([\w-]+)", outbox(container.config)[-1]["body"]).group(1)  # type: ignore[union-attr]
    for weak, why in (("letmein2024", COMMON), ("jane.doe@example.com", CONTEXT)):
        _refused(client.post("/api/noauth/activate", json={"activateToken": token, "password": weak}), why)
    # The link still works: nothing was used up by the refusals.
    r = client.post("/api/noauth/activate", json={"activateToken": token, "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_a_reset_refuses_weak_passwords(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    assert client.post("/api/noauth/resetPasswordByEmail", json={"email": EMAIL}).status_code == 200
    deliver_queued_mail(container)
    token = re.search(r"resetToken=([\w-]+)", outbox(container.config)[-1]["body"]).group(1)  # type: ignore[union-attr]
    for weak, why in (("qwertyuiop", COMMON), ("JaneDoe!!", CONTEXT)):
        r = client.post("/api/noauth/resetPassword", json={"resetToken": token, "password": weak})
        _refused(r, why)
    assert _login(client).status_code == 200  # the old password still works
    r = client.post("/api/noauth/resetPassword", json={"resetToken": token, "password": "reset-Pa55word-ok"})
    assert r.status_code == 200, r.text
