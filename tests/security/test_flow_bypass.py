"""A8 step skipping and alternative paths, A9 broken binding of code <-> user <-> flow,
A10 response manipulation, A23 recovery paths (spec/security.md §4).

The defences: one server-side decision after the password (pre-verification token if the user has
a second factor, configuration token under enforcement, else the pair); "login as user" is off;
password reset and activation never hand out a session that skips a configured second factor;
every login code is bound to its login attempt, provider and destination (keyed hash scoped to
all three), setup codes are scoped to setup, TOTP/backup codes to their user's factor; failure
answers carry nothing a client could "flip" into a session.

Not applicable: OAuth/social login, API keys, public (/api/auth/login/public) and mobile QR login
do not exist; there is no "remember this device" cookie.
"""

from __future__ import annotations

import re

import pytest

from tests.factories import bearer, create_tenant, create_user, oathtool
from tests.security.helpers import (
    INCORRECT,
    LOCKED,
    MAX_FAILURES,
    assert_error_shape,
    check,
    last_code_to,
    make_account,
    pv_of,
    send,
    wrong_totp,
)
from tests.support import deliver_queued_mail, outbox
from tests.twofa_helpers import enroll_backup, enroll_delivered, enroll_totp, login, save_platform

# -- A8: step skipping and other paths -------------------------------------------------------------


def test_the_password_alone_opens_nothing(client, victim) -> None:  # type: ignore[no-untyped-def]
    body = login(client, victim.email, victim.password)
    assert body["scope"] == "PRE_VERIFICATION_TOKEN" and body["refreshToken"] is None
    pv = bearer(body["token"])
    for path in (
        "/api/auth/user",
        f"/api/user/{victim.id}",
        "/api/2fa/account/settings",
        "/api/users",
    ):
        assert client.get(path, headers=pv).status_code == 403, path


def test_login_as_user_is_off(client, sysadmin_headers, victim) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/user/tokenAccessEnabled", headers=sysadmin_headers).json() is False
    r = client.get(f"/api/user/{victim.id}/token", headers=sysadmin_headers)
    assert r.status_code == 403 and "token" not in r.json()


def test_no_public_login_path(client, victim) -> None:  # type: ignore[no-untyped-def]
    for path in (
        "/api/auth/login/public",
        "/api/v1/auth/login",
        "/api/noauth/login",
        "/api/auth/2fa/login",
    ):
        r = client.post(
            path,
            json={
                "username": victim.email,
                "password": victim.password,
                "publicId": str(victim.id),
            },
        )
        assert r.status_code in (401, 404, 405), (path, r.status_code)
        assert "token" not in r.text, path


def test_a_user_with_2fa_under_enforcement_still_gets_the_pre_verification_token(
    client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    """A configuration token would let the password holder add a factor of their own."""
    save_platform(
        client, sysadmin_headers, enforceTwoFa=True, enforcedUsersFilter={"type": "ALL_USERS"}
    )
    assert login(client, victim.email, victim.password)["scope"] == "PRE_VERIFICATION_TOKEN"


def test_password_reset_never_logs_in_and_keeps_the_second_factor(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/noauth/resetPasswordByEmail", json={"email": victim.email})
    deliver_queued_mail(container)
    link = [m for m in outbox(container.config) if "resetToken=" in m["body"]][-1]["body"]
    token = re.search(r"resetToken=([\w-]+)", link).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/api/noauth/resetPassword", json={"resetToken": token, "password": "brand-New-Pa55"}
    )
    assert r.status_code == 200 and "token" not in r.text.lower()
    assert login(client, victim.email, "brand-New-Pa55")["scope"] == "PRE_VERIFICATION_TOKEN"


def test_disable_and_enable_keep_the_second_factor(client, sysadmin_headers, victim) -> None:  # type: ignore[no-untyped-def]
    for flag in ("false", "true"):
        r = client.post(
            f"/api/user/{victim.id}/userCredentialsEnabled?userCredentialsEnabled={flag}",
            headers=sysadmin_headers,
        )
        assert r.status_code == 200
    assert login(client, victim.email, victim.password)["scope"] == "PRE_VERIFICATION_TOKEN"


def test_activation_under_enforcement_gives_only_the_configuration_token(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    save_platform(
        client, sysadmin_headers, enforceTwoFa=True, enforcedUsersFilter={"type": "ALL_USERS"}
    )
    tenant = client.post("/api/tenant", headers=sysadmin_headers, json={"title": "Acme"}).json()
    r = client.post(
        "/api/user?sendActivationMail=true",
        headers=sysadmin_headers,
        json={"email": "fresh@example.com", "authority": "TENANT_ADMIN", "tenantId": tenant["id"]},
    )
    assert r.status_code == 200, r.text
    token = re.search(r"activateToken=([\w-]+)", outbox(container.config)[-1]["body"]).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/api/noauth/activate", json={"activateToken": token, "password": "fresh-Pa55word"}
    )
    assert r.status_code == 200 and r.json()["scope"] == "MFA_CONFIGURATION_TOKEN"
    assert not r.json().get("refreshToken")
    assert client.get("/api/auth/user", headers=bearer(r.json()["token"])).status_code == 403


def test_a_provider_the_account_lacks_cannot_be_forced(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    """TOTP only: asking for an email or SMS code sends nothing (not even to the account address),
    and checking one is not a way in."""
    pv = pv_of(client, victim)
    before = len(outbox(container.config))
    for provider in ("EMAIL", "SMS", "BACKUP_CODE"):
        r = send(client, pv, provider)
        assert (r.status_code, r.json()["message"]) == (400, "2FA is not configured for account"), (
            provider
        )
        r = check(client, pv, provider, "000000" if provider != "BACKUP_CODE" else "0" * 8)
        assert r.status_code == 400, provider
    assert len(outbox(container.config)) == before


def test_the_configuration_login_refuses_the_pre_verification_token(client, victim) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/auth/2fa/login", headers=pv_of(client, victim)).status_code == 403


# -- A9: binding ---------------------------------------------------------------------------------------


def test_a_totp_code_of_user_a_does_not_open_user_b(client, victim, other) -> None:  # type: ignore[no-untyped-def]
    r = check(client, pv_of(client, victim), "TOTP", oathtool(other.secret))
    if oathtool(other.secret) != oathtool(victim.secret):
        assert (r.status_code, r.json()["message"]) == (400, INCORRECT)


def test_a_backup_code_of_user_a_does_not_open_user_b(client, victim, other) -> None:  # type: ignore[no-untyped-def]
    enroll_backup(client, victim.headers)
    theirs = enroll_backup(client, other.headers)
    assert check(client, pv_of(client, victim), "BACKUP_CODE", theirs[0]).status_code == 400
    assert check(client, pv_of(client, other), "BACKUP_CODE", theirs[0]).status_code == 200


def test_an_email_code_of_login_1_does_not_complete_login_2(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    first = pv_of(client, victim)
    assert send(client, first, "EMAIL").status_code == 200
    code = last_code_to(container, "inbox@example.com")
    second = pv_of(client, victim)
    assert check(client, second, "EMAIL", code).status_code == 400
    assert check(client, first, "EMAIL", code).status_code == 200


def test_a_delivered_code_is_bound_to_its_user(container, client, victim, other) -> None:  # type: ignore[no-untyped-def]
    """Both users on the same phone: the code sent for A's login does not open B's."""
    enroll_delivered(client, container, victim.headers, "SMS", "+12015559999")
    enroll_delivered(client, container, other.headers, "SMS", "+12015559999")
    pv_a, pv_b = pv_of(client, victim), pv_of(client, other)
    assert send(client, pv_a, "SMS").status_code == 200
    code = last_code_to(container, "+12015559999")
    assert check(client, pv_b, "SMS", code).status_code == 400
    assert check(client, pv_a, "SMS", code).status_code == 200


def test_a_code_is_bound_to_its_provider(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "SMS", "+12015551111")
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    pv = pv_of(client, victim)
    assert send(client, pv, "EMAIL").status_code == 200
    code = last_code_to(container, "inbox@example.com")
    assert check(client, pv, "SMS", code).status_code == 400
    assert check(client, pv, "EMAIL", code).status_code == 200


@pytest.mark.parametrize("kind,target", [("SMS", "+12015551111"), ("EMAIL", "inbox@example.com")])
def test_a_setup_code_is_not_a_login_code(container, client, victim, kind, target) -> None:  # type: ignore[no-untyped-def]
    """A code from `submit` (setup) for the very destination the factor uses cannot log in."""
    enroll_delivered(client, container, victim.headers, kind, target)
    pv = pv_of(client, victim)
    field = "phoneNumber" if kind == "SMS" else "email"
    r = client.post(
        "/api/2fa/account/config/submit",
        headers=victim.headers,
        json={"providerType": kind, field: target},
    )
    assert r.status_code == 200
    setup_code = last_code_to(container, target)
    assert check(client, pv, kind, setup_code).status_code == 400


def test_a_login_code_is_not_a_setup_code(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    pv = pv_of(client, victim)
    assert send(client, pv, "EMAIL").status_code == 200
    code = last_code_to(container, "inbox@example.com")
    r = client.post(
        f"/api/2fa/account/config?verificationCode={code}",
        headers=victim.headers,
        json={"providerType": "SMS", "phoneNumber": "+12015554444"},
    )
    assert r.status_code == 400


def test_changing_the_destination_between_send_and_check_does_not_help(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    """The code went to the old address; the factor now points elsewhere: the code is dead."""
    enroll_delivered(client, container, victim.headers, "EMAIL", "old@example.com")
    pv = pv_of(client, victim)
    assert send(client, pv, "EMAIL").status_code == 200
    code = last_code_to(container, "old@example.com")
    assert (
        client.delete(
            "/api/2fa/account/config?providerType=EMAIL", headers=victim.headers
        ).status_code
        == 200
    )
    enroll_delivered(client, container, victim.headers, "EMAIL", "new@example.com")
    # The change ended the pending second step (and the code went to an address no longer used).
    assert check(client, pv, "EMAIL", code).status_code == 401


# -- A10: response manipulation --------------------------------------------------------------------


def test_failure_answers_carry_no_token(container, client, sysadmin_headers, victim) -> None:  # type: ignore[no-untyped-def]
    save_platform(
        client,
        sysadmin_headers,
        maxVerificationFailuresBeforeUserLockout=MAX_FAILURES,
        verificationCodeCheckRateLimit="4:60",
    )
    pv = pv_of(client, victim)
    wrong = wrong_totp(victim.secret)
    answers = [check(client, pv, "TOTP", wrong) for _ in range(5)]  # 400 x4, then 429
    answers.append(check(client, pv, "TOTP", None))
    answers.append(client.get("/api/auth/user", headers=pv))  # 403
    answers.append(
        client.post("/api/auth/login", json={"username": victim.email, "password": "wrong"})
    )  # 401
    assert [r.status_code for r in answers] == [400, 400, 400, 400, 429, 429, 403, 401]
    for r in answers:
        assert_error_shape(r)
    # A "flipped" client still holds only the restricted token: it opens nothing.
    assert client.get("/api/auth/user", headers=pv).status_code == 403


def test_the_lockout_answer_carries_no_token(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    answers = [check(client, pv, "TOTP", wrong_totp(victim.secret)) for _ in range(MAX_FAILURES)]
    assert answers[-1].json()["message"] == LOCKED
    for r in answers:
        assert_error_shape(r)


def test_success_is_decided_by_the_server_only(client, victim) -> None:  # type: ignore[no-untyped-def]
    """Extra parameters that might flip a decision (success flags, another user id, a second
    provider) change nothing."""
    pv = pv_of(client, victim)
    wrong = wrong_totp(victim.secret)
    r = client.post(
        "/api/auth/2fa/verification/check",
        headers=pv,
        params={
            "providerType": "TOTP",
            "verificationCode": wrong,
            "success": "true",
            "verified": "1",
            "userId": "x",
        },
        json={"verificationCode": oathtool(victim.secret), "success": True},
    )
    assert r.status_code == 400


# -- A23: recovery ---------------------------------------------------------------------------------


def test_an_administrator_reset_is_audited_and_tells_the_user(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from twostep.storage import tables as t

    enroll_delivered(client, container, victim.headers, "EMAIL", "inbox@example.com")
    r = client.delete(f"/api/2fa/{victim.id}/config?providerType=TOTP", headers=sysadmin_headers)
    assert r.status_code == 200 and "TOTP" not in r.json()["configs"]
    notes = [
        m
        for m in outbox(container.config)
        if m["to"] == victim.email and "reset by an administrator" in m["body"]
    ]
    assert len(notes) == 1
    with container.db.read() as conn:
        rows = (
            conn.execute(
                select(t.audit_log.c.action_data).where(
                    t.audit_log.c.entity_id == victim.id,
                    t.audit_log.c.action_type == "CREDENTIALS_UPDATED",
                )
            )
            .scalars()
            .all()
        )
    assert any(isinstance(d, dict) and d.get("twoFaReset") == "TOTP" for d in rows)
    # The account still needs its remaining factor.
    assert login(client, victim.email, victim.password)["scope"] == "PRE_VERIFICATION_TOKEN"


def test_a_new_user_with_an_existing_email_cannot_take_over_the_factor(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    """Recreating an account with the victim's address is refused; factors stay with the user id."""
    tenant = client.post("/api/tenant", headers=sysadmin_headers, json={"title": "Evil"}).json()
    r = client.post(
        "/api/user?sendActivationMail=false",
        headers=sysadmin_headers,
        json={"email": victim.email, "authority": "TENANT_ADMIN", "tenantId": tenant["id"]},
    )
    assert r.status_code == 400


def test_a_fresh_account_does_not_inherit_a_deleted_users_factors(
    container, client, sysadmin_headers, platform
) -> None:  # type: ignore[no-untyped-def]
    tenant = create_tenant(container)
    create_user(container, "keeper@example.com", tenant_id=tenant)
    first = make_account(container, client, "gone@example.com", "gone-Pa55word", tenant_id=tenant)
    assert client.delete(f"/api/user/{first.id}", headers=sysadmin_headers).status_code == 200
    create_user(container, "gone@example.com", "gone-Pa55word", tenant_id=tenant)
    body = login(client, "gone@example.com", "gone-Pa55word")
    assert "scope" not in body
    headers = bearer(body["token"])
    assert client.get("/api/2fa/account/settings", headers=headers).content in (b"", b"null")
    enroll_totp(client, headers)
