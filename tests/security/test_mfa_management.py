"""A12 changing 2FA / IDOR on MFA settings, A13 CSRF, A14 enrolling without proof of possession,
A24 sysadmin settings abuse (spec/security.md §4).

The defences: `generate` keeps the TOTP secret and the backup codes server-side and
verify-and-save activates only that pending state (a client-chosen secret or code set is refused);
SMS/email setup codes are bound to the destination they went to and limited in attempts; a
pending factor is not a factor; every change is notified; the administrators' reset routes
(`/api/2fa/{userId}/...`) allow a sysadmin anything and a tenant admin only its own tenant's
non-sysadmin users; the platform settings have hard bounds (spec/security.md §6).

Changing 2FA (generate, submit, verify-and-save, change the default, remove, an administrator's
reset) needs a recent sign-in (ASVS 7.5.1): the first session of the token's family, i.e. the
sign-in itself, at most `reauth_window_s` (300 s) old; so does changing an email address.
A refresh does not renew the sign-in, and the API
shapes stay ThingsBoard's (an old sign-in gets 401 with a message saying to sign in again). The
bearer API has no cookie authentication, so it is not CSRF-able (checked below). The web UI's
cookie session (issue 5) has its own CSRF middleware and tests.
"""

from __future__ import annotations

import base64
import os
import time

import pytest
from sqlalchemy import select, update

from tests.factories import bearer, create_tenant, oathtool, secret_of
from tests.security.helpers import (
    OTHER_EMAIL,
    Account,
    age_sign_in,
    assert_error_shape,
    check,
    create_customer_user,
    last_code_to,
    make_account,
    pv_of,
    sysadmin_id,
)
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD, outbox
from tests.twofa_helpers import (
    enroll_backup,
    enroll_delivered,
    enroll_totp,
    full_headers,
    login,
    platform,
)
from twostep.storage import tables as t


def _own_secret() -> str:
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _save_totp(client, headers, auth_url: str, code: str | None):  # type: ignore[no-untyped-def]
    query = f"?verificationCode={code}" if code is not None else ""
    return client.post(
        f"/api/2fa/account/config{query}",
        headers=headers,
        json={"providerType": "TOTP", "useByDefault": True, "authUrl": auth_url},
    )


def _configured(client, headers) -> set[str]:  # type: ignore[no-untyped-def]
    r = client.get("/api/2fa/account/settings", headers=headers)
    return set(r.json()["configs"]) if r.content not in (b"", b"null") else set()


@pytest.fixture
def fresh(container, client, platform):  # type: ignore[no-untyped-def]
    """A user with no second factor yet (full session)."""
    return make_account(container, client, "fresh@example.com", "fresh-Pa55word", totp=False)


# -- A14: enrollment needs proof of possession of what the server generated ------------------------


def test_a_client_chosen_totp_secret_is_refused(client, fresh) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers)
    mine = _own_secret()
    url = f"otpauth://totp/ThingsBoard:{fresh.email}?issuer=ThingsBoard&secret={mine}"
    r = _save_totp(client, fresh.headers, url, oathtool(mine))
    assert r.status_code == 400
    assert _configured(client, fresh.headers) == set()


def test_a_client_chosen_secret_without_generate_is_refused(client, fresh) -> None:  # type: ignore[no-untyped-def]
    mine = _own_secret()
    url = f"otpauth://totp/ThingsBoard:{fresh.email}?issuer=ThingsBoard&secret={mine}"
    assert _save_totp(client, fresh.headers, url, oathtool(mine)).status_code == 400
    assert _configured(client, fresh.headers) == set()


def test_the_secret_cannot_be_swapped_between_generate_and_confirm(client, fresh) -> None:  # type: ignore[no-untyped-def]
    first = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers
    ).json()
    second = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers
    ).json()
    old = secret_of(first["authUrl"])
    assert _save_totp(client, fresh.headers, first["authUrl"], oathtool(old)).status_code == 400
    new = secret_of(second["authUrl"])
    assert (
        _save_totp(
            client, fresh.headers, second["authUrl"], oathtool(new, time.time() - 30)
        ).status_code
        == 200
    )


@pytest.mark.parametrize("code", [None, "", "000000", "12345", "1234567", "abcdef"])
def test_activation_needs_a_valid_code_for_the_pending_secret(client, fresh, code) -> None:  # type: ignore[no-untyped-def]
    generated = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers
    ).json()
    secret = secret_of(generated["authUrl"])
    if code == "000000" and oathtool(secret) == "000000":
        code = "111111"
    assert _save_totp(client, fresh.headers, generated["authUrl"], code).status_code == 400
    assert _configured(client, fresh.headers) == set()


def test_a_code_for_a_different_secret_is_refused(client, fresh) -> None:  # type: ignore[no-untyped-def]
    generated = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers
    ).json()
    assert (
        _save_totp(client, fresh.headers, generated["authUrl"], oathtool(_own_secret())).status_code
        == 400
    )


def test_a_pending_secret_cannot_log_in(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, fresh.headers, "EMAIL", "inbox@example.com")
    generated = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers
    ).json()
    secret = secret_of(generated["authUrl"])
    pv = pv_of(client, fresh)
    assert [p["type"] for p in client.get("/api/auth/2fa/providers", headers=pv).json()] == [
        "EMAIL"
    ]
    r = check(client, pv, "TOTP", oathtool(secret))
    assert (r.status_code, r.json()["message"]) == (400, "2FA is not configured for account")


@pytest.mark.parametrize("change", ["own codes", "subset", "superset", "one changed"])
def test_client_chosen_backup_codes_are_refused(client, fresh, change) -> None:  # type: ignore[no-untyped-def]
    generated = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers
    ).json()
    _save_totp(
        client,
        fresh.headers,
        generated["authUrl"],
        oathtool(secret_of(generated["authUrl"]), time.time() - 30),
    )
    body = client.post(
        "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=fresh.headers
    ).json()
    codes = list(body["codes"])
    if change == "own codes":
        codes = [f"{i:016x}" for i in range(len(codes))]
    elif change == "subset":
        codes = codes[:1]
    elif change == "superset":
        codes = codes + ["0123456789abcdef"]
    else:
        codes[0] = "0123456789abcdef"
    r = client.post("/api/2fa/account/config", headers=fresh.headers, json={**body, "codes": codes})
    assert r.status_code == 400
    assert "BACKUP_CODE" not in _configured(client, fresh.headers)
    pv = pv_of(client, fresh)
    assert check(client, pv, "BACKUP_CODE", codes[0]).status_code == 400


@pytest.mark.parametrize(
    "kind,sent_to,saved_as",
    [("SMS", "+12015551111", "+12015552222"), ("EMAIL", "mine@example.com", "victim@example.com")],
)
def test_a_setup_code_only_confirms_the_destination_it_went_to(
    container, client, fresh, kind, sent_to, saved_as
) -> None:  # type: ignore[no-untyped-def]
    field = "phoneNumber" if kind == "SMS" else "email"
    assert (
        client.post(
            "/api/2fa/account/config/submit",
            headers=fresh.headers,
            json={"providerType": kind, field: sent_to},
        ).status_code
        == 200
    )
    code = last_code_to(container, sent_to)
    r = client.post(
        f"/api/2fa/account/config?verificationCode={code}",
        headers=fresh.headers,
        json={"providerType": kind, field: saved_as},
    )
    assert r.status_code == 400
    assert _configured(client, fresh.headers) == set()


def test_an_expired_setup_code_is_refused(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    body = {"providerType": "EMAIL", "email": "mine@example.com"}
    assert (
        client.post("/api/2fa/account/config/submit", headers=fresh.headers, json=body).status_code
        == 200
    )
    code = last_code_to(container, "mine@example.com")
    with container.db.transaction() as conn:
        conn.execute(
            update(t.twofa_pending)
            .where(t.twofa_pending.c.user_id == fresh.id)
            .values(code_expires_at=1)
        )
    assert (
        client.post(
            f"/api/2fa/account/config?verificationCode={code}", headers=fresh.headers, json=body
        ).status_code
        == 400
    )


def test_setup_codes_cannot_be_brute_forced(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    body = {"providerType": "EMAIL", "email": "mine@example.com"}
    assert (
        client.post("/api/2fa/account/config/submit", headers=fresh.headers, json=body).status_code
        == 200
    )
    code = last_code_to(container, "mine@example.com")
    guesses = [f"{i:06d}" for i in range(40) if f"{i:06d}" != code][:12]
    statuses = [
        client.post(
            f"/api/2fa/account/config?verificationCode={g}", headers=fresh.headers, json=body
        ).status_code
        for g in guesses
    ]
    assert 429 in statuses and statuses.index(429) <= 10, statuses
    # Once limited, even the right code waits out the window.
    assert (
        client.post(
            f"/api/2fa/account/config?verificationCode={code}", headers=fresh.headers, json=body
        ).status_code
        == 429
    )


def test_a_setup_code_is_single_use(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    body = {"providerType": "EMAIL", "email": "mine@example.com"}
    client.post("/api/2fa/account/config/submit", headers=fresh.headers, json=body)
    code = last_code_to(container, "mine@example.com")
    assert (
        client.post(
            f"/api/2fa/account/config?verificationCode={code}", headers=fresh.headers, json=body
        ).status_code
        == 200
    )
    assert (
        client.delete(
            "/api/2fa/account/config?providerType=EMAIL", headers=fresh.headers
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/2fa/account/config?verificationCode={code}", headers=fresh.headers, json=body
        ).status_code
        == 400
    )


def test_adding_and_removing_factors_is_notified(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    generated = client.post(
        "/api/2fa/account/config/generate?providerType=TOTP", headers=fresh.headers
    ).json()
    _save_totp(
        client,
        fresh.headers,
        generated["authUrl"],
        oathtool(secret_of(generated["authUrl"]), time.time() - 30),
    )
    client.delete("/api/2fa/account/config?providerType=TOTP", headers=fresh.headers)
    notes = [m["body"] for m in outbox(container.config) if m["to"] == fresh.email]
    assert any("Authenticator app added" in b for b in notes) and any(
        "Authenticator app removed" in b for b in notes
    )


# -- A12: who may change 2FA ---------------------------------------------------------------------------


def test_restricted_tokens_cannot_remove_or_change_factors(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    assert client.delete("/api/2fa/account/config?providerType=TOTP", headers=pv).status_code == 403
    assert (
        client.put(
            "/api/2fa/account/config?providerType=TOTP", headers=pv, json={"useByDefault": True}
        ).status_code
        == 403
    )
    assert (
        client.delete(f"/api/2fa/{victim.id}/config?providerType=TOTP", headers=pv).status_code
        == 403
    )
    assert _configured(client, victim.headers) == {"TOTP"}


REAUTH = "Sign in again to change two-factor authentication settings"


def _age_sign_in(container, headers, seconds: int) -> None:  # type: ignore[no-untyped-def]
    age_sign_in(container, headers["X-Authorization"].split()[1], seconds)


def _changes(client, headers):  # type: ignore[no-untyped-def]
    """Every way to change a user's 2FA, as (name, response)."""
    totp = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=headers)
    yield "generate", totp
    yield "submit", client.post(
        "/api/2fa/account/config/submit",
        headers=headers,
        json={"providerType": "EMAIL", "useByDefault": False, "email": "new@example.com"},
    )
    yield "verify and save", client.post(
        "/api/2fa/account/config?verificationCode=123456",
        headers=headers,
        json={"providerType": "TOTP", "useByDefault": True, "authUrl": "otpauth://totp/x?secret=AAAA"},
    )
    yield "default", client.put(
        "/api/2fa/account/config?providerType=TOTP", headers=headers, json={"useByDefault": True}
    )
    yield "remove", client.delete("/api/2fa/account/config?providerType=TOTP", headers=headers)
    yield "regenerate backup codes", client.post(
        "/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=headers
    )


def test_changing_2fa_needs_a_recent_sign_in(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    codes = enroll_backup(client, victim.headers)  # within the window: allowed
    before = _configured(client, victim.headers)
    assert before == {"TOTP", "BACKUP_CODE"}
    _age_sign_in(container, victim.headers, container.config.reauth_window_s + 5)

    for name, r in _changes(client, victim.headers):
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.json()["message"] == REAUTH, name
        assert r.json()["errorCode"] == 10, name
        assert_error_shape(r)
    # Reading still works, and nothing changed.
    assert client.get("/api/2fa/account/settings", headers=victim.headers).status_code == 200
    assert _configured(client, victim.headers) == before

    # A fresh sign-in (password + a backup code) may change 2FA again.
    r = check(client, pv_of(client, victim), "BACKUP_CODE", codes[0])
    assert r.status_code == 200, r.text
    fresh = bearer(r.json()["token"])
    r = client.put(
        "/api/2fa/account/config?providerType=TOTP", headers=fresh, json={"useByDefault": False}
    )
    assert r.status_code == 200, r.text
    r = client.delete("/api/2fa/account/config?providerType=TOTP", headers=fresh)
    assert r.status_code == 200, r.text
    assert _configured(client, fresh) == set()  # backup codes never stay alone


def test_a_sign_in_just_inside_the_window_may_change_2fa(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    _age_sign_in(container, victim.headers, container.config.reauth_window_s - 5)
    r = client.put(
        "/api/2fa/account/config?providerType=TOTP", headers=victim.headers, json={"useByDefault": True}
    )
    assert r.status_code == 200, r.text


def test_a_refresh_does_not_renew_the_sign_in(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    pair = login(client, fresh.email, fresh.password)
    _age_sign_in(container, bearer(pair["token"]), container.config.reauth_window_s + 5)
    r = client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]})
    assert r.status_code == 200, r.text
    refreshed = bearer(r.json()["token"])
    assert client.get("/api/auth/user", headers=refreshed).status_code == 200  # still signed in
    r = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=refreshed)
    assert r.status_code == 401 and r.json()["message"] == REAUTH, r.text


def test_a_password_change_does_not_renew_the_sign_in(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    """Knowing the password (and holding a session) is not the second factor: the new pair that
    a password change hands out continues the old sign-in."""
    _age_sign_in(container, victim.headers, container.config.reauth_window_s + 5)
    r = client.post(
        "/api/auth/changePassword",
        headers=victim.headers,
        json={"currentPassword": victim.password, "newPassword": "changed-Pa55word!"},
    )
    assert r.status_code == 200, r.text
    renewed = bearer(r.json()["token"])
    assert client.get("/api/auth/user", headers=renewed).status_code == 200
    assert client.get("/api/auth/user", headers=victim.headers).status_code == 401  # old pair ended
    r = client.delete("/api/2fa/account/config?providerType=TOTP", headers=renewed)
    assert r.status_code == 401 and r.json()["message"] == REAUTH, r.text
    assert _configured(client, renewed) == {"TOTP"}


def test_a_session_whose_sign_in_is_gone_counts_as_old(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    pair = login(client, fresh.email, fresh.password)
    r = client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]})
    refreshed = bearer(r.json()["token"])
    first = container.tokens.decode(pair["token"]).session_id
    with container.db.transaction() as conn:  # e.g. purged as expired
        conn.execute(t.auth_session.delete().where(t.auth_session.c.id == first))
    r = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=refreshed)
    assert r.status_code == 401 and r.json()["message"] == REAUTH, r.text


def test_changing_ones_own_email_needs_a_recent_sign_in(container, client, fresh) -> None:  # type: ignore[no-untyped-def]
    """The email is the login name and where password-reset links go (ASVS 7.5.1)."""
    headers = fresh.headers
    me = client.get(f"/api/user/{fresh.id}", headers=headers).json()
    _age_sign_in(container, headers, container.config.reauth_window_s + 5)
    r = client.post("/api/user", headers=headers, json={**me, "email": "thief@example.com"})
    assert r.status_code == 401, r.text
    assert r.json()["message"] == "Sign in again to change an email address"
    assert client.get(f"/api/user/{fresh.id}", headers=headers).json()["email"] == fresh.email
    # Other profile fields need no fresh sign-in.
    r = client.post("/api/user", headers=headers, json={**me, "firstName": "Renamed"})
    assert r.status_code == 200, r.text

    again = full_headers(client, fresh.email, fresh.password)
    me = client.get(f"/api/user/{fresh.id}", headers=again).json()
    r = client.post("/api/user", headers=again, json={**me, "email": "moved@example.com"})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "moved@example.com"


@pytest.fixture
def tenants(container, client, victim):  # type: ignore[no-untyped-def]
    """Tenant 1: admin `victim` (TOTP) and a customer user with TOTP; tenant 2: admin `outsider`
    (TOTP); plus the sysadmin with TOTP."""
    with container.db.read() as conn:
        tenant1 = conn.execute(
            select(t.user.c.tenant_id).where(t.user.c.id == victim.id)
        ).scalar_one()
    customer_id = create_customer_user(
        container, tenant1, "customer@example.com", "customer-Pa55word"
    )
    headers = full_headers(client, "customer@example.com", "customer-Pa55word")
    customer = Account(
        customer_id,
        "customer@example.com",
        "customer-Pa55word",
        headers,
        secret=enroll_totp(client, headers),
    )
    outsider = make_account(
        container,
        client,
        OTHER_EMAIL,
        "other-Pa55word",
        tenant_id=create_tenant(container, "Tenant B"),
    )
    enroll_totp(client, full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD))
    return {
        "victim": victim,
        "customer": customer,
        "outsider": outsider,
        "sysadmin_id": sysadmin_id(container),
    }


def test_an_administrators_reset_needs_a_recent_sign_in(container, client, tenants) -> None:  # type: ignore[no-untyped-def]
    admin, customer = tenants["victim"], tenants["customer"]
    _age_sign_in(container, admin.headers, container.config.reauth_window_s + 5)
    r = client.delete(f"/api/2fa/{customer.id}/config?providerType=TOTP", headers=admin.headers)
    assert r.status_code == 401 and r.json()["message"] == REAUTH, r.text
    assert _configured(client, customer.headers) == {"TOTP"}
    # Looking is not changing: the administrator still reads the user's settings.
    r = client.get(f"/api/2fa/{customer.id}/settings", headers=admin.headers)
    assert r.status_code == 200, r.text


def test_an_administrator_changing_a_users_email_needs_a_recent_sign_in(container, client, tenants) -> None:  # type: ignore[no-untyped-def]
    admin, customer = tenants["victim"], tenants["customer"]
    user = client.get(f"/api/user/{customer.id}", headers=admin.headers).json()
    _age_sign_in(container, admin.headers, container.config.reauth_window_s + 5)
    r = client.post("/api/user", headers=admin.headers, json={**user, "email": "elsewhere@example.com"})
    assert r.status_code == 401, r.text
    assert r.json()["message"] == "Sign in again to change an email address"
    assert client.get(f"/api/user/{customer.id}", headers=admin.headers).json()["email"] == customer.email
    r = client.post("/api/user", headers=admin.headers, json={**user, "lastName": "Renamed"})
    assert r.status_code == 200, r.text


def test_a_tenant_admin_cannot_read_or_reset_another_tenants_user_or_the_sysadmin(
    client, tenants
) -> None:  # type: ignore[no-untyped-def]
    victim, outsider = tenants["victim"], tenants["outsider"]
    for target in (outsider.id, tenants["sysadmin_id"]):
        assert client.get(f"/api/2fa/{target}/settings", headers=victim.headers).status_code == 403
        r = client.delete(f"/api/2fa/{target}/config?providerType=TOTP", headers=victim.headers)
        assert r.status_code == 403, r.text
    assert _configured(client, outsider.headers) == {"TOTP"}
    assert login(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)["scope"] == "PRE_VERIFICATION_TOKEN"


def test_a_tenant_admin_manages_its_own_tenants_users(client, tenants) -> None:  # type: ignore[no-untyped-def]
    victim, customer = tenants["victim"], tenants["customer"]
    r = client.get(f"/api/2fa/{customer.id}/settings", headers=victim.headers)
    assert r.status_code == 200 and "TOTP" in r.json()["configs"]
    r = client.delete(f"/api/2fa/{customer.id}/config?providerType=TOTP", headers=victim.headers)
    assert r.status_code == 200 and r.json() == {"configs": {}}


def test_customer_users_have_no_admin_routes(client, tenants) -> None:  # type: ignore[no-untyped-def]
    customer = tenants["customer"]
    for target in (tenants["victim"].id, customer.id, tenants["sysadmin_id"]):
        assert (
            client.get(f"/api/2fa/{target}/settings", headers=customer.headers).status_code == 403
        )
        assert (
            client.delete(
                f"/api/2fa/{target}/config?providerType=TOTP", headers=customer.headers
            ).status_code
            == 403
        )
    assert _configured(client, tenants["victim"].headers) == {"TOTP"}


def test_unknown_and_malformed_user_ids(client, sysadmin_headers, tenants) -> None:  # type: ignore[no-untyped-def]
    victim = tenants["victim"]
    assert (
        client.get(
            "/api/2fa/00000000-0000-4000-8000-000000000000/settings", headers=victim.headers
        ).status_code
        == 404
    )
    for bad in ("not-a-uuid", "..%2F..%2Fsettings", "1 OR 1=1"):
        r = client.get(f"/api/2fa/{bad}/settings", headers=sysadmin_headers)
        assert r.status_code in (400, 404), (bad, r.status_code)


def test_the_sysadmin_may_reset_anyone(client, sysadmin_headers, tenants) -> None:  # type: ignore[no-untyped-def]
    outsider = tenants["outsider"]
    r = client.delete(f"/api/2fa/{outsider.id}/config?providerType=TOTP", headers=sysadmin_headers)
    assert r.status_code == 200
    assert "scope" not in login(client, outsider.email, outsider.password)


# -- A13: no cookie authentication on the bearer API ----------------------------------------------------


def test_the_api_sets_no_cookie_and_ignores_cookies(client, victim) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/auth/login", json={"username": victim.email, "password": victim.password})
    assert "set-cookie" not in r.headers
    pair = check(client, bearer(r.json()["token"]), "TOTP", oathtool(victim.secret))
    assert "set-cookie" not in pair.headers
    token = pair.json()["token"]
    client.cookies.clear()
    r = client.delete(
        "/api/2fa/account/config?providerType=TOTP",
        headers={
            "Cookie": f"X-Authorization=Bearer {token}; token={token}",
            "Origin": "https://evil.example",
        },
    )
    assert r.status_code in (401, 403)
    assert _configured(client, victim.headers) == {"TOTP"}


# -- A24: platform settings -----------------------------------------------------------------------------


def _provider(kind: str, **fields):  # type: ignore[no-untyped-def]
    base = {p["providerType"]: p for p in platform()["providers"]}[kind]
    return {**base, **fields}


BAD_SETTINGS = {
    "SMS code lifetime 601 s": {
        "providers": [_provider("TOTP"), _provider("SMS", verificationCodeLifetime=601)]
    },
    "email code lifetime 24 h": {
        "providers": [_provider("TOTP"), _provider("EMAIL", verificationCodeLifetime=86400)]
    },
    "code lifetime 0": {
        "providers": [_provider("TOTP"), _provider("EMAIL", verificationCodeLifetime=0)]
    },
    "lockout 0 (never)": {"maxVerificationFailuresBeforeUserLockout": 0},
    "lockout 101": {"maxVerificationFailuresBeforeUserLockout": 101},
    "lockout 10 000": {"maxVerificationFailuresBeforeUserLockout": 10000},
    "lockout negative": {"maxVerificationFailuresBeforeUserLockout": -1},
    "total time 3601 s": {"totalAllowedTimeForVerification": 3601},
    "total time 59 s": {"totalAllowedTimeForVerification": 59},
    "send period 0 (unlimited)": {"minVerificationCodeSendPeriod": 0},
    "send period 4 s": {"minVerificationCodeSendPeriod": 4},
    "check limit 0:60": {"verificationCodeCheckRateLimit": "0:60"},
    "check limit 10:0": {"verificationCodeCheckRateLimit": "10:0"},
    "check limit list": {"verificationCodeCheckRateLimit": "3:900,1000:1"},
    "backup codes 0": {"providers": [_provider("TOTP"), _provider("BACKUP_CODE", codesQuantity=0)]},
    "backup codes only": {"providers": [_provider("BACKUP_CODE")]},
    "SMS template without code": {
        "providers": [_provider("TOTP"), _provider("SMS", smsVerificationMessageTemplate="Hello")]
    },
    "string for a number": {"maxVerificationFailuresBeforeUserLockout": "5"},
    "boolean for a number": {"totalAllowedTimeForVerification": True},
}


@pytest.mark.parametrize("name", list(BAD_SETTINGS))
def test_out_of_bounds_platform_settings_are_refused(
    client, sysadmin_headers, platform, name
) -> None:  # type: ignore[no-untyped-def]
    before = client.get("/api/2fa/settings", headers=sysadmin_headers).json()
    body = {**platform, **BAD_SETTINGS[name]}
    r = client.post("/api/2fa/settings", headers=sysadmin_headers, json=body)
    assert r.status_code == 400, r.text
    assert client.get("/api/2fa/settings", headers=sysadmin_headers).json() == before


@pytest.mark.parametrize(
    "edge",
    [
        {"maxVerificationFailuresBeforeUserLockout": 100},
        {"maxVerificationFailuresBeforeUserLockout": 1},
        {"totalAllowedTimeForVerification": 3600},
        {"providers": [_provider("TOTP"), _provider("SMS", verificationCodeLifetime=600)]},
    ],
)
def test_the_bounds_themselves_are_allowed(client, sysadmin_headers, platform, edge) -> None:  # type: ignore[no-untyped-def]
    assert (
        client.post(
            "/api/2fa/settings", headers=sysadmin_headers, json={**platform, **edge}
        ).status_code
        == 200
    )


def test_only_the_sysadmin_reads_or_changes_platform_settings(
    container, client, sysadmin_headers, tenants
) -> None:  # type: ignore[no-untyped-def]
    body = {**platform(), "maxVerificationFailuresBeforeUserLockout": 100}
    for headers in (
        tenants["victim"].headers,
        tenants["customer"].headers,
        pv_of(client, tenants["victim"]),
    ):
        assert client.get("/api/2fa/settings", headers=headers).status_code == 403
        assert client.post("/api/2fa/settings", headers=headers, json=body).status_code == 403
    assert (
        client.get("/api/2fa/settings", headers=sysadmin_headers).json()[
            "maxVerificationFailuresBeforeUserLockout"
        ]
        == 5
    )


def test_a_stale_sysadmin_session_cannot_change_settings(container, client, platform) -> None:  # type: ignore[no-untyped-def]
    stale = full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    fresh = full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    r = client.post(
        "/api/auth/changePassword",
        headers=fresh,
        json={"currentPassword": SYSADMIN_PASSWORD, "newPassword": "new-Sysadmin-Pa55"},
    )
    assert r.status_code == 200, r.text
    body = {**platform, "maxVerificationFailuresBeforeUserLockout": 100}
    assert client.post("/api/2fa/settings", headers=stale, json=body).status_code == 401
    now = bearer(r.json()["token"])
    assert (
        client.get("/api/2fa/settings", headers=now).json()[
            "maxVerificationFailuresBeforeUserLockout"
        ]
        == 5
    )
