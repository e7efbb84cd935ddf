"""The login second step over HTTP: tokens, errors, lockout, replay, single use."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.factories import bearer, create_user, oathtool
from tests.twofa_helpers import (
    check,
    enroll_backup,
    enroll_delivered,
    enroll_totp,
    full_headers,
    last_code,
    login,
    pre_token,
    save_platform,
    wait_next_step,
)

EMAIL = "user@example.com"
PASSWORD = "user-Pa55word"


@pytest.fixture
def user(container, client, sysadmin_headers):  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers, maxVerificationFailuresBeforeUserLockout=5)
    create_user(container, EMAIL, PASSWORD)
    headers = full_headers(client, EMAIL, PASSWORD)
    secret = enroll_totp(client, headers)
    return {"secret": secret, "headers": headers, "enrolled_at": time.time()}


def test_user_without_2fa_gets_the_normal_pair(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    body = login(client, EMAIL, PASSWORD)
    assert set(body) == {"token", "refreshToken"}
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["scopes"] == ["TENANT_ADMIN"] and claims["enabled"] is True and claims["iss"] == "thingsboard.io"


def test_login_with_2fa_answers_a_pre_verification_token(client, user) -> None:  # type: ignore[no-untyped-def]
    body = login(client, EMAIL, PASSWORD)
    assert body["scope"] == "PRE_VERIFICATION_TOKEN" and body["refreshToken"] is None
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["scopes"] == ["PRE_VERIFICATION_TOKEN"]
    assert claims["exp"] - claims["iat"] == 600  # totalAllowedTimeForVerification
    assert "firstName" not in claims and "enabled" not in claims


def test_provider_list_masks_contacts(container, client, user) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, user["headers"], "SMS", "+380501253652")
    enroll_delivered(client, container, user["headers"], "EMAIL", "abcdefko@gmail.com")
    pv = pre_token(client, EMAIL, PASSWORD)
    infos = client.get("/api/auth/2fa/providers", headers=pv).json()
    assert infos == [
        {"type": "TOTP", "default": True, "contact": None, "minVerificationCodeSendPeriod": 30},
        {"type": "SMS", "default": False, "contact": "+38********52", "minVerificationCodeSendPeriod": 30},
        {"type": "EMAIL", "default": False, "contact": "ab****ko@gmail.com", "minVerificationCodeSendPeriod": 30},
    ]


def test_pre_verification_token_only_opens_the_second_step(client, user) -> None:  # type: ignore[no-untyped-def]
    pv = pre_token(client, EMAIL, PASSWORD)
    for method, path in [
        ("GET", "/api/auth/user"),
        ("GET", "/api/2fa/account/settings"),
        ("POST", "/api/2fa/account/config/generate?providerType=TOTP"),
        ("DELETE", "/api/2fa/account/config?providerType=TOTP"),
        ("POST", "/api/auth/logout"),
        ("POST", "/api/auth/changePassword"),
        ("GET", "/api/admin/securitySettings"),
        ("POST", "/api/auth/2fa/login"),
    ]:
        r = client.request(method, path, headers=pv, json={})
        assert r.status_code == 403, (path, r.text)
        assert r.json()["message"] == "You don't have permission to perform this operation!"
    r = client.post("/api/auth/token", json={"refreshToken": pv["X-Authorization"][7:]})
    assert r.status_code == 401


def test_valid_totp_code_gives_the_full_pair_once(client, user) -> None:  # type: ignore[no-untyped-def]
    pv = pre_token(client, EMAIL, PASSWORD)
    r = check(client, pv, "TOTP", oathtool(user["secret"]))
    assert r.status_code == 200, r.text
    pair = r.json()
    assert set(pair) == {"token", "refreshToken"}
    assert client.get("/api/auth/user", headers=bearer(pair["token"])).json()["email"] == EMAIL
    # The pre-verification token died with the success.
    again = check(client, pv, "TOTP", oathtool(user["secret"]))
    assert again.status_code == 401 and again.json()["message"] == "Token has expired"


def test_totp_replay_is_refused_even_with_a_new_login(client, user) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    code = oathtool(user["secret"], now)
    assert check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", code).status_code == 200
    r = check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", code)
    assert r.status_code == 400 and r.json()["message"] == "Verification code is incorrect"
    # An older step after a newer one was used is refused too.
    older = oathtool(user["secret"], now - 30)
    assert check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", older).status_code == 400


def test_enrollment_code_cannot_log_in(client, user) -> None:  # type: ignore[no-untyped-def]
    """enroll_totp confirmed with the previous step's code: that step is used up."""
    code = oathtool(user["secret"], user["enrolled_at"] - 30)
    r = check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", code)
    assert r.status_code == 400


def test_next_step_is_refused_previous_step_accepted(client, user) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    future = oathtool(user["secret"], now + 30)
    assert check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", future).status_code == 400
    # Once a step after the enrollment's has begun, its predecessor is still accepted (one step of drift).
    now = wait_next_step(user["enrolled_at"])
    previous = oathtool(user["secret"], now - 30)
    assert check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", previous).status_code == 200


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "12 345", "ab1212", "12311 ", "１２３４５６", "123_45", "+12345", "-12345", "0x1234", "1" * 5000]
)
def test_malformed_codes_are_incorrect_not_errors(client, user, code) -> None:  # type: ignore[no-untyped-def]
    r = check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", code)
    assert r.status_code in (400, 413, 414), r.text
    if r.status_code == 400:
        assert r.json()["message"] == "Verification code is incorrect"


def test_repeated_parameters_are_refused(client, user) -> None:  # type: ignore[no-untyped-def]
    pv = pre_token(client, EMAIL, PASSWORD)
    r = client.post(
        "/api/auth/2fa/verification/check?providerType=TOTP&verificationCode=111111&verificationCode=222222",
        headers=pv,
    )
    assert r.status_code == 400 and r.json()["errorCode"] == 31


MISSING_PROVIDER = (  # ThingsBoard's (Spring's) text
    "Required request parameter 'providerType' for method parameter type TwoFaProviderType is not present"
)


@pytest.mark.parametrize(
    ("query", "token", "status", "message"),
    [
        ("verificationCode=123456", True, 400, MISSING_PROVIDER),
        ("", True, 400, MISSING_PROVIDER),
        ("providerType=TOTP", True, 400, "Verification code is incorrect"),  # no code: a wrong one
        ("providerType=TOTP&providerType=SMS&verificationCode=1", True, 400, "Repeated query parameters are not allowed"),
        ("verificationCode=123456", False, 401, "Authentication failed"),  # the token comes first
    ],
)
def test_check_parameters(client, user, query, token, status, message) -> None:  # type: ignore[no-untyped-def]
    headers = pre_token(client, EMAIL, PASSWORD) if token else {}
    r = client.post(f"/api/auth/2fa/verification/check?{query}", headers=headers)
    assert (r.status_code, r.json()["message"]) == (status, message), r.text
    assert r.json()["errorCode"] == {400: 31, 401: 10}[status]


def test_unknown_provider_and_unconfigured_provider(client, user) -> None:  # type: ignore[no-untyped-def]
    pv = pre_token(client, EMAIL, PASSWORD)
    assert check(client, pv, "FOO", "123456").status_code == 400
    r = check(client, pv, "SMS", "123456")
    assert r.status_code == 400 and r.json()["message"] == "2FA is not configured for account"


def test_lockout_after_max_failures_across_fresh_logins(container, client, user) -> None:  # type: ignore[no-untyped-def]
    """max=5: failures 1-4 → 400; the 5th → 401 locked; then 'User is disabled'. Each attempt uses a
    fresh password login: a correct password never resets the 2FA failure count."""
    messages = []
    last_pv = None
    for _ in range(5):
        last_pv = pre_token(client, EMAIL, PASSWORD)
        r = check(client, last_pv, "TOTP", "000000" if oathtool(user["secret"]) != "000000" else "111111")
        messages.append((r.status_code, r.json()["message"]))
    assert messages[:4] == [(400, "Verification code is incorrect")] * 4
    assert messages[4] == (401, "User account was locked due to exceeded 2FA verification attempts")
    # The pre-verification token dies with the lockout, and the password no longer opens the account.
    r = check(client, last_pv, "TOTP", oathtool(user["secret"]))
    assert r.status_code == 401
    r = client.post("/api/auth/login", json={"username": EMAIL, "password": PASSWORD})
    assert r.status_code == 401 and r.json()["message"] == "Invalid username or password"
    # Lockout is audited.
    admin = full_headers(client, "sysadmin@thingsboard.org", "sysadmin-Pa55word")
    del admin


def test_failure_count_is_shared_by_providers(container, client, user) -> None:  # type: ignore[no-untyped-def]
    codes = enroll_backup(client, user["headers"])
    assert len(codes) == 10 and all(len(c) == 8 for c in codes)
    statuses = []
    for provider in ["TOTP", "BACKUP_CODE", "TOTP", "BACKUP_CODE", "TOTP"]:
        pv = pre_token(client, EMAIL, PASSWORD)
        statuses.append(check(client, pv, provider, "999999" if provider == "TOTP" else "0" * 8).status_code)
    assert statuses == [400, 400, 400, 400, 401]


def test_check_rate_limit(client, sysadmin_headers, container) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers, verificationCodeCheckRateLimit="3:60", maxVerificationFailuresBeforeUserLockout=10)
    create_user(container, EMAIL, PASSWORD)
    enroll_totp(client, full_headers(client, EMAIL, PASSWORD))
    pv = pre_token(client, EMAIL, PASSWORD)
    statuses = [check(client, pv, "TOTP", "000001").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    r = check(client, pre_token(client, EMAIL, PASSWORD), "TOTP", "000001")
    assert r.status_code == 429 and r.json() == {**r.json(), "message": "Too many requests", "errorCode": 33}


def test_a_successful_check_clears_the_check_bucket(client, sysadmin_headers, container) -> None:  # type: ignore[no-untyped-def]
    """ThingsBoard empties the user's buckets on success: the limit slows guessing, it must not
    lock out a user who signs in a few times within its window."""
    save_platform(client, sysadmin_headers, verificationCodeCheckRateLimit="3:60", maxVerificationFailuresBeforeUserLockout=10)
    create_user(container, EMAIL, PASSWORD)
    headers = full_headers(client, EMAIL, PASSWORD)
    enroll_totp(client, headers)
    codes = enroll_backup(client, headers)
    pv = pre_token(client, EMAIL, PASSWORD)
    assert [check(client, pv, "BACKUP_CODE", "0" * 8).status_code for _ in range(2)] == [400, 400]
    assert check(client, pv, "BACKUP_CODE", codes[0]).status_code == 200  # the third hit
    pv = pre_token(client, EMAIL, PASSWORD)
    statuses = [check(client, pv, "BACKUP_CODE", "0" * 8).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_email_code_login_and_resend_limit(container, client, user) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, user["headers"], "EMAIL", "me@example.com")
    pv = pre_token(client, EMAIL, PASSWORD)
    assert client.post("/api/auth/2fa/verification/send?providerType=EMAIL", headers=pv).status_code == 200
    r = client.post("/api/auth/2fa/verification/send?providerType=EMAIL", headers=pv)
    assert r.status_code == 429
    code = last_code(container, "email")
    r = check(client, pv, "EMAIL", code)
    assert r.status_code == 200, r.text


def test_email_code_is_bound_to_its_login_attempt(container, client, user) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, user["headers"], "EMAIL", "me@example.com")
    first = pre_token(client, EMAIL, PASSWORD)
    client.post("/api/auth/2fa/verification/send?providerType=EMAIL", headers=first)
    code = last_code(container, "email")
    second = pre_token(client, EMAIL, PASSWORD)
    r = check(client, second, "EMAIL", code)
    assert r.status_code == 400


def test_wrong_code_notifies_the_owner_once_per_attempt(container, client, user) -> None:  # type: ignore[no-untyped-def]
    from tests.support import outbox

    pv = pre_token(client, EMAIL, PASSWORD)
    before = len(outbox(container.config))
    check(client, pv, "TOTP", "000000")
    check(client, pv, "TOTP", "000001")
    notes = [m for m in outbox(container.config)[before:] if m["to"] == EMAIL]
    assert len(notes) == 1 and "second" in notes[0]["body"]
    assert "testclient" in notes[0]["body"]  # the client address


def test_enforced_user_gets_configuration_token(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers, enforceTwoFa=True, enforcedUsersFilter={"type": "TENANT_ADMINISTRATORS"})
    create_user(container, EMAIL, PASSWORD)
    body = login(client, EMAIL, PASSWORD)
    assert body["scope"] == "MFA_CONFIGURATION_TOKEN"
    mfa = bearer(body["token"])
    assert client.get("/api/auth/user", headers=mfa).status_code == 403
    r = client.post("/api/auth/2fa/login", headers=mfa)
    assert r.status_code == 400 and r.json()["message"] == "2FA is not configured"
    assert client.get("/api/2fa/providers", headers=mfa).json() == ["TOTP", "SMS", "EMAIL", "BACKUP_CODE"]
    enroll_totp(client, mfa)
    # Self-service delete of the last provider is refused under enforcement (and not allowed for this token).
    assert client.delete("/api/2fa/account/config?providerType=TOTP", headers=mfa).status_code == 403
    r = client.post("/api/auth/2fa/login", headers=mfa)
    assert r.status_code == 200 and set(r.json()) == {"token", "refreshToken"}
    assert client.post("/api/auth/2fa/login", headers=mfa).status_code == 401  # single use
    # Sysadmins are not in the filter.
    assert "scope" not in login(client, "sysadmin@thingsboard.org", "sysadmin-Pa55word")


def test_backup_code_use_is_told_to_the_owner(container, client, user) -> None:  # type: ignore[no-untyped-def]
    from tests.support import outbox

    codes = enroll_backup(client, user["headers"])
    before = len(outbox(container.config))
    assert check(client, pre_token(client, EMAIL, PASSWORD), "BACKUP_CODE", codes[3]).status_code == 200
    notes = [m for m in outbox(container.config)[before:] if m["to"] == EMAIL]
    assert len(notes) == 1 and "backup code was used to sign in (9 left)" in notes[0]["body"]
