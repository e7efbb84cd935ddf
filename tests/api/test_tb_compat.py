"""What ThingsBoard's own web UI calls besides the 2FA API (issue 17): each answer in ThingsBoard's
shape, or a clear refusal in its error shape, never a 404 that would break one of its pages."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from sqlalchemy import update

from tests.factories import create_user, oathtool
from tests.helpers import assert_error, create_customer, create_customer_user, create_tenant_admin
from tests.security.helpers import check, jwt_key, make_account, pv_of
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import enroll_delivered, full_headers, login, save_platform
from twostep.channels.mail_presets import INSTALL_DEFAULTS
from twostep.domain.ids import NULL_UUID
from twostep.storage import tables as t

# -- 1. GET /api/system/params ---------------------------------------------------------------------

NEUTRAL = {
    "userTokenAccessEnabled": False,
    "allowedDashboardIds": [],
    "edgesSupportEnabled": False,
    "hasRepository": False,
    "tbelEnabled": False,
    "persistDeviceStateToTelemetry": False,
    "userSettings": {"openedMenuSections": []},
    "maxDatapointsLimit": 50000,
    "mobileQrEnabled": False,
}


def test_system_params_for_every_authority(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/system/params", headers=sysadmin_headers)
    assert r.status_code == 200 and r.json() == NEUTRAL
    _, tenant_headers = create_tenant_admin(client, sysadmin_headers)
    tenant = client.get("/api/system/params", headers=tenant_headers).json()
    assert tenant == {**NEUTRAL, "maxResourceSize": 0, "maxDebugModeDurationMinutes": 15}
    customer = create_customer(client, tenant_headers)
    _, customer_headers = create_customer_user(client, tenant_headers, customer["id"]["id"])
    assert client.get("/api/system/params", headers=customer_headers).json() == tenant
    # "Login as user" would skip the second factor: never offered, whoever asks.
    assert client.get("/api/user/tokenAccessEnabled", headers=tenant_headers).json() is False


def test_system_params_need_a_full_session(client) -> None:  # type: ignore[no-untyped-def]
    assert_error(client.get("/api/system/params"), 401)


# -- 4. repeated actionTypes on the audit routes -------------------------------------------------


def test_repeated_action_types_are_merged(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/auth/logout", headers=sysadmin_headers).status_code == 200
    headers = full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)

    def kinds(query: str) -> set[str]:
        r = client.get(f"/api/audit/logs?pageSize=50&page=0&{query}", headers=headers)
        assert r.status_code == 200, r.text
        return {entry["actionType"] for entry in r.json()["data"]}

    assert kinds("actionTypes=LOGIN&actionTypes=LOGOUT") == {"LOGIN", "LOGOUT"}
    assert kinds("actionTypes=LOGIN,LOGOUT") == {"LOGIN", "LOGOUT"}
    assert kinds("actionTypes=LOGOUT") == {"LOGOUT"}
    r = client.get(
        "/api/audit/logs?pageSize=50&page=0&actionTypes=LOGIN&actionTypes=NOPE", headers=headers
    )
    assert_error(r, 400, "No enum constant ActionType.NOPE")


# -- 5. mail settings page -----------------------------------------------------------------------


def test_a_fresh_install_has_thingsboards_mail_settings(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/admin/settings/mail", headers=sysadmin_headers)
    assert r.status_code == 200, r.text
    shown = r.json()["jsonValue"]
    assert shown == {k: v for k, v in INSTALL_DEFAULTS.items() if k != "password"}
    assert shown["smtpHost"] == "localhost" and shown["smtpPort"] == "25"
    # A placeholder nobody chose: no mail goes there, and the email factor waits for real settings.
    container.config.outbox = False
    assert not container.delivery.mail_configured()
    only_email = {
        "providers": [{"providerType": "EMAIL", "verificationCodeLifetime": 120}],
        "minVerificationCodeSendPeriod": 30,
        "totalAllowedTimeForVerification": 600,
    }
    r = client.post("/api/2fa/settings", headers=sysadmin_headers, json=only_email)
    assert_error(r, 400, "Mail service is not set up")
    # Saving it (here unchanged, as the page does) makes it the administrator's choice.
    body = client.get("/api/admin/settings/mail", headers=sysadmin_headers).json()
    assert client.post("/api/admin/settings", headers=sysadmin_headers, json=body).status_code == 200
    assert container.delivery.mail_configured()
    assert client.post("/api/2fa/settings", headers=sysadmin_headers, json=only_email).status_code == 200


def test_mail_page_templates_and_oauth2_processing_url(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/mail/config/template", headers=sysadmin_headers)
    assert r.status_code == 200 and r.json() == []  # OAuth2 mail is not offered
    r = client.get("/api/admin/mail/oauth2/loginProcessingUrl", headers=sysadmin_headers)
    assert r.status_code == 200 and r.json() == "/api/admin/mail/oauth2/code"
    assert r.headers["content-type"].startswith("application/json")
    _, tenant_headers = create_tenant_admin(client, sysadmin_headers)
    assert client.get("/api/mail/config/template", headers=tenant_headers).json() == []
    assert_error(client.get("/api/admin/mail/oauth2/loginProcessingUrl", headers=tenant_headers), 403)
    assert_error(client.get("/api/mail/config/template"), 401)


# -- 6. login page OAuth2 clients, JWT settings ------------------------------------------------------


@pytest.mark.parametrize("query", ["?platform=WEB", "", "?platform=ANDROID&pkgName=x.y"])
def test_login_page_oauth2_clients_are_none(client, query: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/noauth/oauth2Clients{query}")
    assert r.status_code == 200 and r.json() == []


def test_jwt_settings_show_the_effective_values_without_the_key(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/admin/jwtSettings", headers=sysadmin_headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "tokenExpirationTime": container.config.access_token_ttl,
        "refreshTokenExpTime": container.config.refresh_token_ttl,
        "tokenIssuer": container.config.jwt_issuer,
        "tokenSigningKey": "REDACTED",
    }
    key = jwt_key(container)
    assert base64.b64encode(key).decode() not in r.text and key.hex() not in r.text


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"tokenExpirationTime": 60, "refreshTokenExpTime": 900, "tokenIssuer": "x", "tokenSigningKey": "REDACTED"},
        {"tokenSigningKey": "c2VjcmV0" * 20},
        "not an object",
    ],
)
def test_jwt_settings_cannot_be_changed(container, client, sysadmin_headers, body: Any) -> None:  # type: ignore[no-untyped-def]
    before = client.get("/api/admin/jwtSettings", headers=sysadmin_headers).json()
    r = client.post("/api/admin/jwtSettings", headers=sysadmin_headers, json=body)
    assert_error(r, 400)
    assert "cannot be changed through the API" in r.json()["message"]
    assert client.get("/api/admin/jwtSettings", headers=sysadmin_headers).json() == before
    assert client.get("/api/auth/user", headers=sysadmin_headers).status_code == 200  # key unchanged


def test_jwt_settings_are_for_the_sysadmin_only(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    _, tenant_headers = create_tenant_admin(client, sysadmin_headers)
    assert_error(client.get("/api/admin/jwtSettings", headers=tenant_headers), 403)
    assert_error(client.post("/api/admin/jwtSettings", headers=tenant_headers, json={}), 403)
    assert_error(client.get("/api/admin/jwtSettings"), 401)


# -- 7-10: the 2FA API as ThingsBoard's tests and UI expect it -----------------------------------


@pytest.fixture
def tb_platform(client, sysadmin_headers) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return save_platform(client, sysadmin_headers, maxVerificationFailuresBeforeUserLockout=3)


def test_a_check_after_the_lockout_answers_user_is_disabled(container, client, tb_platform) -> None:  # type: ignore[no-untyped-def]
    account = make_account(container, client)
    pv = pv_of(client, account)
    assert [check(client, pv, "TOTP", "000000").status_code for _ in range(2)] == [400, 400]
    r = check(client, pv, "TOTP", "000000")
    assert_error(r, 401, "User account was locked due to exceeded 2FA verification attempts")
    for _ in range(2):
        body = assert_error(check(client, pv, "TOTP", oathtool(account.secret)), 401, "User is disabled")
        assert body["errorCode"] == 10
    # The token stays dead: an administrator's unlock does not revive it.
    with container.db.transaction() as conn:
        conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == account.id)
            .values(enabled=True, twofa_failed_attempts=0)
        )
    body = assert_error(check(client, pv, "TOTP", oathtool(account.secret)), 401, "Token has expired")
    assert body["errorCode"] == 11
    # A token ended otherwise (here by its success) is not told "disabled".
    other = pv_of(client, account)
    assert check(client, other, "TOTP", oathtool(account.secret)).status_code == 200
    assert_error(check(client, other, "TOTP", "000000"), 401, "Token has expired")


def test_account_settings_once_every_method_was_removed(container, client, tb_platform) -> None:  # type: ignore[no-untyped-def]
    create_user(container, "never@example.com", "never-Pa55word")
    never = full_headers(client, "never@example.com", "never-Pa55word")
    r = client.get("/api/2fa/account/settings", headers=never)
    assert (r.status_code, r.content) == (200, b"")  # never had any: an empty body
    assert_error(client.delete("/api/2fa/account/config?providerType=TOTP", headers=never), 400, "2FA not configured")

    account = make_account(container, client)
    r = client.delete("/api/2fa/account/config?providerType=TOTP", headers=account.headers)
    assert r.status_code == 200 and r.json() == {"configs": {}}
    r = client.get("/api/2fa/account/settings", headers=account.headers)
    assert r.status_code == 200 and r.json() == {"configs": {}}
    # A second removal of the same provider is no error and changes nothing.
    r = client.delete("/api/2fa/account/config?providerType=TOTP", headers=account.headers)
    assert r.status_code == 200 and r.json() == {"configs": {}}
    assert "scope" not in login(client, account.email, account.password)  # no method: no 2FA
    # The administrators' view says the same.
    admin = client.get(f"/api/2fa/{account.id}/settings", headers=full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD))
    assert admin.status_code == 200 and admin.json() == {"configs": {}}


def test_a_second_removal_keeps_the_other_methods(container, client, tb_platform) -> None:  # type: ignore[no-untyped-def]
    account = make_account(container, client)
    enroll_delivered(client, container, account.headers, "SMS", "+12015550123")
    r = client.delete("/api/2fa/account/config?providerType=SMS", headers=account.headers)
    assert r.status_code == 200 and list(r.json()["configs"]) == ["TOTP"]
    r = client.delete("/api/2fa/account/config?providerType=SMS", headers=account.headers)
    assert r.status_code == 200 and list(r.json()["configs"]) == ["TOTP"]
    assert login(client, account.email, account.password)["scope"] == "PRE_VERIFICATION_TOKEN"


@pytest.mark.parametrize(
    "auth_url,message",
    [
        (None, "Validation error: authUrl must not be blank"),
        ("otpauth://totp/T B: aba", "Validation error: authUrl is invalid"),
        ("otpauth://totp/tb:a@b.c?secret=ABC&issuer=tb", "Validation error: authUrl is invalid"),
        ("otpauth://totp/tb:a@b.c?issuer=tb&secret=AB-C", "Validation error: authUrl is invalid"),
        ("otpauth://hotp/tb:a@b.c?issuer=tb&secret=ABC", "Validation error: authUrl is invalid"),
        ("otpauth://totp/tb:a@b.c?issuer=tb&secret=ÄBC", "Validation error: authUrl is invalid"),
    ],
)
def test_totp_submit_validates_the_auth_url(container, client, tb_platform, auth_url, message) -> None:  # type: ignore[no-untyped-def]
    create_user(container, "u@example.com", "u-Pa55word-x")
    headers = full_headers(client, "u@example.com", "u-Pa55word-x")
    body = {"providerType": "TOTP", "useByDefault": False, "authUrl": auth_url}
    for path in ("/api/2fa/account/config/submit", "/api/2fa/account/config?verificationCode=123456"):
        assert_error(client.post(path, headers=headers, json=body), 400, message)
    body["authUrl"] = (
        "otpauth://totp/ThingsBoard%20(Tenant):tenant@thingsboard.org?issuer=ThingsBoard+%28Tenant%29"
        "&secret=FUNBIM3CXFNNGQR6ZIPVWHP65PPFWDII"
    )
    assert client.post("/api/2fa/account/config/submit", headers=headers, json=body).status_code == 200


PROVIDER_CLASS = "org.thingsboard.server.common.data.security.model.mfa.provider.TwoFaProviderType"
CONFIG_CLASS = "org.thingsboard.server.common.data.security.model.mfa.account.TwoFaAccountConfig"
MISSING_PARAM = "Required request parameter 'providerType' for method parameter type TwoFaProviderType is not present"


def _mismatch(value: str) -> str:
    return (
        f"Method parameter 'providerType': Failed to convert value of type 'java.lang.String' to required type "
        f"'{PROVIDER_CLASS}'; Failed to convert from type [java.lang.String] to type "
        f"[@org.springframework.web.bind.annotation.RequestParam {PROVIDER_CLASS}] for value [{value}]"
    )


def test_unknown_and_missing_provider_types_answer_thingsboards_messages(container, client, tb_platform) -> None:  # type: ignore[no-untyped-def]
    account = make_account(container, client)
    pv = pv_of(client, account)
    calls = [
        ("POST", "/api/2fa/account/config/generate", account.headers),
        ("DELETE", "/api/2fa/account/config", account.headers),
        ("POST", "/api/auth/2fa/verification/send", pv),
        ("POST", "/api/auth/2fa/verification/check", pv),
    ]
    for method, path, headers in calls:
        assert_error(client.request(method, f"{path}?providerType=FOO", headers=headers), 400, _mismatch("FOO"))
        assert_error(client.request(method, path, headers=headers), 400, MISSING_PARAM)
    long = "X" * 150
    r = client.post(f"/api/2fa/account/config/generate?providerType={long}", headers=account.headers)
    assert_error(r, 400, _mismatch("X" * 100 + " (truncated)..."))
    r = client.put("/api/2fa/account/config?providerType=totp", headers=account.headers, json={"useByDefault": True})
    assert_error(r, 400, _mismatch("totp"))
    for path in ("/api/2fa/account/config/submit", "/api/2fa/account/config?verificationCode=1"):
        r = client.post(path, headers=account.headers, json={"providerType": "FOO"})
        assert_error(
            r, 400,
            f"JSON parse error: Could not resolve type id 'FOO' as a subtype of `{CONFIG_CLASS}`: "
            "known type ids = [BACKUP_CODE, EMAIL, SMS, TOTP]",
        )
        r = client.post(path, headers=account.headers, json={"phoneNumber": "+12015550123"})
        assert_error(
            r, 400,
            f"JSON parse error: Could not resolve subtype of [simple type, class {CONFIG_CLASS}]: "
            "missing type id property 'providerType'",
        )


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def test_restricted_tokens_carry_customer_id_as_thingsboards(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers, enforceTwoFa=True, enforcedUsersFilter={"type": "ALL_USERS"})
    create_user(container, "cfg@example.com", "cfg-Pa55word-x")
    body = login(client, "cfg@example.com", "cfg-Pa55word-x")
    assert body["scope"] == "MFA_CONFIGURATION_TOKEN"
    claims = _claims(body["token"])
    assert claims["customerId"] == str(NULL_UUID) and claims["tenantId"] != str(NULL_UUID)
    save_platform(client, sysadmin_headers)
    account = make_account(container, client)
    pv = pv_of(client, account)
    assert _claims(pv["X-Authorization"][7:])["customerId"] == str(NULL_UUID)
