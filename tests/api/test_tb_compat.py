"""What ThingsBoard's own web UI calls besides the 2FA API (issue 17): each answer in ThingsBoard's
shape, or a clear refusal in its error shape, never a 404 that would break one of its pages."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.helpers import assert_error, create_customer, create_customer_user, create_tenant_admin
from tests.security.helpers import jwt_key
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import full_headers
from twostep.channels.mail_presets import INSTALL_DEFAULTS

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
