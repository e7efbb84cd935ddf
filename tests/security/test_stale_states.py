"""Tokens and pending states issued before a change of state are not honoured after it.

The defences: a configuration token may set up only the first method(s) of its own login attempt
and finishes with POST /api/auth/2fa/login once; when a method becomes active, every other
configuration token and pending second step of the user ends, and when one is removed or reset,
all of them do; a pending enrollment belongs to the sign-in that started it and ends with it (and
with a password change); an email change ends the reset and activation links sent to the old
address, and a password change ends reset links issued before it.
"""

from __future__ import annotations

import re
import time

from sqlalchemy import update

from tests.factories import bearer, create_user, oathtool, secret_of
from tests.security.helpers import credentials_row
from tests.support import deliver_queued_mail, outbox
from tests.twofa_helpers import (
    enroll_backup,
    enroll_delivered,
    enroll_totp,
    full_headers,
    last_code,
    login,
    save_platform,
)
from twostep.domain.ids import now_ms
from twostep.storage import tables as t

EMAIL = "owner@example.com"
PASSWORD = "owner-Pa55word"
ATTACKER_MAIL = "attacker@evil.example"


def _enforce(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    save_platform(
        client, sysadmin_headers, enforceTwoFa=True, enforcedUsersFilter={"type": "ALL_USERS"}
    )


def _config_token(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    body = login(client, EMAIL, PASSWORD)
    assert body["scope"] == "MFA_CONFIGURATION_TOKEN", body
    return bearer(body["token"])


def _add_email_factor(client, headers: dict[str, str], address: str):  # type: ignore[no-untyped-def]
    body = {"providerType": "EMAIL", "useByDefault": False, "email": address}
    return client.post("/api/2fa/account/config/submit", headers=headers, json=body)


# -- configuration tokens ------------------------------------------------------------------------


def test_an_old_configuration_token_ends_when_the_owner_sets_up_2fa(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    """The attack: someone with the password holds a configuration token while the owner sets
    up TOTP with their own; afterwards the old token neither signs in nor adds a factor."""
    _enforce(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    attacker = _config_token(client)
    owner = _config_token(client)
    enroll_totp(client, owner)
    r = client.post("/api/auth/2fa/login", headers=owner)
    assert r.status_code == 200 and r.json()["refreshToken"], r.text

    r = client.post("/api/auth/2fa/login", headers=attacker)
    assert r.status_code == 401, r.text
    assert not re.search(r"refreshToken\": ?\"ey", r.text)
    before = len(outbox(container.config))
    assert _add_email_factor(client, attacker, ATTACKER_MAIL).status_code == 401
    r = client.post(
        "/api/2fa/account/config?verificationCode=123456",
        headers=attacker,
        json={"providerType": "EMAIL", "useByDefault": True, "email": ATTACKER_MAIL},
    )
    assert r.status_code == 401
    assert len(outbox(container.config)) == before  # nothing went to the attacker
    assert login(client, EMAIL, PASSWORD)["scope"] == "PRE_VERIFICATION_TOKEN"


def test_a_configuration_token_that_started_an_enrollment_cannot_finish_it_after_another_did(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    """The attacker sends a setup code to their own address first, then the owner sets up TOTP:
    the attacker's code no longer confirms anything."""
    _enforce(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    attacker = _config_token(client)
    assert _add_email_factor(client, attacker, ATTACKER_MAIL).status_code == 200
    code = last_code(container, "email")
    owner = _config_token(client)
    enroll_totp(client, owner)
    r = client.post(
        f"/api/2fa/account/config?verificationCode={code}",
        headers=attacker,
        json={"providerType": "EMAIL", "useByDefault": True, "email": ATTACKER_MAIL},
    )
    assert r.status_code == 401, r.text
    settings = client.get("/api/2fa/account/settings", headers=owner)
    assert settings.status_code in (200, 401)
    with container.db.read() as conn:
        kinds = [r.provider_type for r in conn.execute(t.twofa_config.select()).all()]
    assert kinds == ["TOTP"]


def test_a_configuration_token_finishes_once_and_only_after_its_own_enrollment(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    _enforce(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    token = _config_token(client)
    r = client.post("/api/auth/2fa/login", headers=token)
    assert (r.status_code, r.json()["message"]) == (400, "2FA is not configured")
    enroll_totp(client, token)
    enroll_backup(client, token)  # the same attempt may set up more than one first method
    assert client.post("/api/auth/2fa/login", headers=token).status_code == 200
    assert client.post("/api/auth/2fa/login", headers=token).status_code == 401


def test_a_configuration_token_ends_when_2fa_is_set_up_from_a_full_session(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    """The owner had a session from before enforcement and sets up TOTP there: a configuration
    token issued meanwhile cannot add a method of its own."""
    create_user(container, EMAIL, PASSWORD)
    session = full_headers(client, EMAIL, PASSWORD)
    _enforce(client, sysadmin_headers)
    attacker = _config_token(client)
    enroll_totp(client, session)
    assert client.post("/api/auth/2fa/login", headers=attacker).status_code == 401
    assert _add_email_factor(client, attacker, ATTACKER_MAIL).status_code == 401


# -- pending second steps ---------------------------------------------------------------------------


def test_pending_second_steps_end_when_a_method_is_added_removed_or_reset(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    session = full_headers(client, EMAIL, PASSWORD)
    enroll_totp(client, session)  # the session stays (it made the change)
    pending = bearer(login(client, EMAIL, PASSWORD)["token"])
    enroll_delivered(client, container, session, "EMAIL", "second@example.com")
    assert _providers(client, pending) == 401  # a method was added

    pending = bearer(login(client, EMAIL, PASSWORD)["token"])
    assert _providers(client, pending) == 200
    r = client.delete("/api/2fa/account/config?providerType=EMAIL", headers=session)
    assert r.status_code == 200
    assert _providers(client, pending) == 401  # a method was removed

    pending = bearer(login(client, EMAIL, PASSWORD)["token"])
    user_id = _user_id_of(container, EMAIL)
    r = client.delete(f"/api/2fa/{user_id}/config?providerType=TOTP", headers=sysadmin_headers)
    assert r.status_code == 200, r.text
    assert _providers(client, pending) == 401  # an administrator reset it


def _providers(client, headers: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    return client.get("/api/auth/2fa/providers", headers=headers).status_code  # type: ignore[no-any-return]


def _user_id_of(container, email: str):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(t.user.select().where(t.user.c.email == email)).first().id


# -- pending enrollments -------------------------------------------------------------------------


def _generate_totp(client, headers: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["authUrl"]  # type: ignore[no-any-return]


def _confirm_totp(client, headers: dict[str, str], auth_url: str):  # type: ignore[no-untyped-def]
    code = oathtool(secret_of(auth_url), time.time() - 30)
    return client.post(
        f"/api/2fa/account/config?verificationCode={code}",
        headers=headers,
        json={"providerType": "TOTP", "useByDefault": True, "authUrl": auth_url},
    )


def test_a_pending_enrollment_is_confirmed_only_by_the_sign_in_that_started_it(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    thief = full_headers(client, EMAIL, PASSWORD)  # a stolen session
    owner = full_headers(client, EMAIL, PASSWORD)
    auth_url = _generate_totp(client, thief)
    r = _confirm_totp(client, owner, auth_url)
    assert (r.status_code, r.json()["message"]) == (400, "Verification code is incorrect"), r.text
    assert _confirm_totp(client, thief, auth_url).status_code == 200


def test_pending_enrollments_end_with_a_password_change_and_with_their_sign_in(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    thief = full_headers(client, EMAIL, PASSWORD)
    auth_url = _generate_totp(client, thief)
    owner = full_headers(client, EMAIL, PASSWORD)
    r = client.post(
        "/api/auth/changePassword",
        headers=owner,
        json={"currentPassword": PASSWORD, "newPassword": "changed-Pa55word-2"},
    )
    assert r.status_code == 200, r.text
    with container.db.read() as conn:
        assert conn.execute(t.twofa_pending.select()).all() == []

    session = full_headers(client, EMAIL, "changed-Pa55word-2")
    auth_url = _generate_totp(client, session)
    assert client.post("/api/auth/logout", headers=session).status_code == 200
    with container.db.read() as conn:
        assert conn.execute(t.twofa_pending.select()).all() == []
    del auth_url


# -- links mailed to an address ------------------------------------------------------------------


def _reset_link_token(client, container, email: str) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/noauth/resetPasswordByEmail", json={"email": email})
    assert r.status_code == 200
    deliver_queued_mail(container)
    mail = [m for m in outbox(container.config) if m["to"] == email][-1]
    return re.search(r"resetToken=([\w-]+)", mail["body"]).group(1)  # type: ignore[union-attr]


def _reset(client, token: str, password: str = "reset-Pa55word-9"):  # type: ignore[no-untyped-def]
    return client.post("/api/noauth/resetPassword", json={"resetToken": token, "password": password})


def test_a_reset_link_ends_when_the_email_address_changes(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    user_id = create_user(container, EMAIL, PASSWORD)
    token = _reset_link_token(client, container, EMAIL)
    user = client.get(f"/api/user/{user_id}", headers=sysadmin_headers).json()
    user["email"] = "new-owner@example.com"
    r = client.post("/api/user", headers=sysadmin_headers, json=user)
    assert r.status_code == 200, r.text
    r = _reset(client, token)
    assert (r.status_code, r.json()["message"]) == (400, "Invalid reset token!")
    assert credentials_row(container, user_id).reset_token_hash is None


def test_a_reset_link_ends_when_the_password_changes(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    token = _reset_link_token(client, container, EMAIL)
    session = full_headers(client, EMAIL, PASSWORD)
    r = client.post(
        "/api/auth/changePassword",
        headers=session,
        json={"currentPassword": PASSWORD, "newPassword": "changed-Pa55word-3"},
    )
    assert r.status_code == 200, r.text
    assert _reset(client, token).status_code == 400
    assert login(client, EMAIL, "changed-Pa55word-3")["token"]


def test_an_activation_link_ends_when_the_email_address_changes(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    tenant = client.post("/api/tenant", headers=sysadmin_headers, json={"title": "Acme"}).json()
    r = client.post(
        "/api/user?sendActivationMail=false",
        headers=sysadmin_headers,
        json={"email": "typo@example.com", "authority": "TENANT_ADMIN", "tenantId": tenant["id"]},
    )
    assert r.status_code == 200, r.text
    user = r.json()
    old = client.get(f"/api/user/{user['id']['id']}/activationLink", headers=sysadmin_headers).text
    user["email"] = "right@example.com"
    assert client.post("/api/user", headers=sysadmin_headers, json=user).status_code == 200
    new = client.get(f"/api/user/{user['id']['id']}/activationLink", headers=sysadmin_headers).text
    old_token, new_token = (link.split("activateToken=")[1] for link in (old, new))
    assert old_token != new_token
    r = client.post(
        "/api/noauth/activate", json={"activateToken": old_token, "password": "fresh-Pa55word-1"}
    )
    assert r.status_code == 400, r.text
    r = client.post(
        "/api/noauth/activate", json={"activateToken": new_token, "password": "fresh-Pa55word-1"}
    )
    assert r.status_code == 200, r.text


def test_an_expired_pending_attempt_cannot_be_revived_by_an_enrollment(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    """A configuration token whose attempt expired sets nothing up (its JWT may still be valid)."""
    _enforce(client, sysadmin_headers)
    user_id = create_user(container, EMAIL, PASSWORD)
    token = _config_token(client)
    with container.db.transaction() as conn:
        conn.execute(
            update(t.login_attempt)
            .where(t.login_attempt.c.user_id == user_id)
            .values(expires_at=now_ms() - 1)
        )
    r = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=token)
    assert r.status_code == 401


def test_a_reset_link_issued_before_a_lockout_does_not_reset_the_locked_password(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings["maxFailedLoginAttempts"] = 2
    assert client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings).status_code == 200
    user_id = create_user(container, EMAIL, PASSWORD)
    token = _reset_link_token(client, container, EMAIL)
    for _ in range(3):
        client.post("/api/auth/login", json={"username": EMAIL, "password": "wrong-Pa55word"})
    assert not credentials_row(container, user_id).enabled
    r = _reset(client, token)
    assert (r.status_code, r.json()["message"]) == (401, "User account is not active"), r.text
    assert not credentials_row(container, user_id).enabled
