"""Account 2FA settings over HTTP: generate, submit, verify-and-save, update, delete, admin reset."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import create_user, oathtool, secret_of
from tests.twofa_helpers import (
    enroll_backup,
    enroll_delivered,
    enroll_totp,
    full_headers,
    last_code,
    login,
    save_platform,
)
from twostep.storage import tables as t

EMAIL = "enrol@example.com"
PASSWORD = "enrol-Pa55word"


@pytest.fixture
def headers(container, client, sysadmin_headers):  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    return full_headers(client, EMAIL, PASSWORD)


def test_no_settings_reads_as_empty_body(client, headers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/2fa/account/settings", headers=headers)
    assert r.status_code == 200 and r.content == b""


def test_generate_for_a_disabled_provider(client, sysadmin_headers, container) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers, providers=[{"providerType": "TOTP", "issuerName": "TB"}])
    create_user(container, EMAIL, PASSWORD)
    h = full_headers(client, EMAIL, PASSWORD)
    r = client.post("/api/2fa/account/config/generate?providerType=SMS", headers=h)
    assert r.status_code == 400 and r.json()["message"] == "2FA provider is not configured"


def test_totp_secret_is_the_servers_own(client, headers) -> None:  # type: ignore[no-untyped-def]
    """A client cannot choose its TOTP secret: the authUrl must carry the secret generate returned."""
    generated = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=headers).json()
    own_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    forged = generated["authUrl"].replace(secret_of(generated["authUrl"]), own_secret)
    r = client.post(
        f"/api/2fa/account/config?verificationCode={oathtool(own_secret)}",
        headers=headers,
        json={"providerType": "TOTP", "useByDefault": True, "authUrl": forged},
    )
    assert r.status_code == 400 and r.json()["message"] == "Verification code is incorrect"
    # Without a generate at all: refused too.
    r = client.post(
        f"/api/2fa/account/config?verificationCode={oathtool(own_secret)}",
        headers=headers,
        json={"providerType": "TOTP", "useByDefault": True, "authUrl": forged},
    )
    assert r.status_code == 400


def test_wrong_totp_code_at_setup(client, headers) -> None:  # type: ignore[no-untyped-def]
    generated = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=headers).json()
    r = client.post("/api/2fa/account/config?verificationCode=abcdef", headers=headers,
                    json={"providerType": "TOTP", "useByDefault": True, "authUrl": generated["authUrl"]})
    assert r.status_code == 400 and r.json()["message"] == "Verification code is incorrect"


def test_totp_secret_is_encrypted_at_rest_and_never_shown_again(container, client, headers) -> None:  # type: ignore[no-untyped-def]
    secret = enroll_totp(client, headers)
    body = client.get("/api/2fa/account/settings", headers=headers).json()
    assert secret not in str(body)
    assert body["configs"]["TOTP"]["authUrl"].startswith("otpauth://totp/ThingsBoard:enrol@example.com?issuer=ThingsBoard&secret=")
    with container.db.read() as conn:
        stored = conn.execute(select(t.twofa_config.c.totp_secret_enc)).scalar_one()
    assert secret not in stored and stored.startswith("v1:")


def test_backup_codes_client_cannot_choose_them(client, headers) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, headers)
    generated = client.post("/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=headers).json()
    forged = {**generated, "codes": ["0000000000000000"] * 1 + generated["codes"][1:]}
    r = client.post("/api/2fa/account/config", headers=headers, json=forged)
    assert r.status_code == 400
    r = client.post("/api/2fa/account/config", headers=headers, json=generated)
    assert r.status_code == 200
    assert r.json()["configs"]["BACKUP_CODE"] == {"providerType": "BACKUP_CODE", "useByDefault": False, "codes": [], "codesLeft": 10}


def test_backup_codes_hashed_at_rest(container, client, headers) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, headers)
    codes = enroll_backup(client, headers)
    with container.db.read() as conn:
        hashes = set(conn.execute(select(t.backup_code.c.code_hash)).scalars())
    assert len(hashes) == 10 and not hashes & set(codes)


def test_backup_codes_cannot_be_first(client, headers) -> None:  # type: ignore[no-untyped-def]
    generated = client.post("/api/2fa/account/config/generate?providerType=BACKUP_CODE", headers=headers).json()
    r = client.post("/api/2fa/account/config", headers=headers, json=generated)
    assert r.status_code == 400
    assert r.json()["message"] == "To use 2FA backup codes you first need to configure at least one provider"


def test_sms_setup_code_is_bound_to_the_phone(container, client, headers) -> None:  # type: ignore[no-untyped-def]
    body = {"providerType": "SMS", "useByDefault": False, "phoneNumber": "+12015551111"}
    assert client.post("/api/2fa/account/config/submit", headers=headers, json=body).status_code == 200
    code = last_code(container, "sms")
    other = {**body, "phoneNumber": "+12015552222"}
    r = client.post(f"/api/2fa/account/config?verificationCode={code}", headers=headers, json=other)
    assert r.status_code == 400 and r.json()["message"] == "Verification code is incorrect"
    r = client.post(f"/api/2fa/account/config?verificationCode={code}", headers=headers, json=body)
    assert r.status_code == 200
    # Used once: the same setup code cannot add it again (already configured anyway) nor log in.
    assert r.json()["configs"]["SMS"]["phoneNumber"] == "+12015551111"


def test_phone_validation(client, headers) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/2fa/account/config/submit", headers=headers,
                    json={"providerType": "SMS", "useByDefault": False, "phoneNumber": "0501253652"})
    assert r.status_code == 400 and r.json()["message"] == "Validation error: phoneNumber is not of E.164 format"


def test_already_configured_and_defaults(container, client, headers) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, headers)
    generated = client.post("/api/2fa/account/config/generate?providerType=TOTP", headers=headers).json()
    r = client.post(f"/api/2fa/account/config?verificationCode={oathtool(secret_of(generated['authUrl']))}",
                    headers=headers, json={"providerType": "TOTP", "useByDefault": True, "authUrl": generated["authUrl"]})
    assert r.status_code == 400 and r.json()["message"] == "2FA provider is already configured"
    enroll_delivered(client, container, headers, "EMAIL", "mail@example.com")
    configs = client.get("/api/2fa/account/settings", headers=headers).json()["configs"]
    assert list(configs) == ["TOTP", "EMAIL"]
    assert configs["TOTP"]["useByDefault"] and not configs["EMAIL"]["useByDefault"]
    r = client.put("/api/2fa/account/config?providerType=EMAIL", headers=headers, json={"useByDefault": True})
    assert r.status_code == 200
    assert [k for k, v in r.json()["configs"].items() if v["useByDefault"]] == ["EMAIL"]
    r = client.put("/api/2fa/account/config?providerType=SMS", headers=headers, json={"useByDefault": True})
    assert r.status_code == 400 and r.json()["message"] == "Config for SMS 2FA provider not found"


def test_delete_rules(container, client, headers) -> None:  # type: ignore[no-untyped-def]
    r = client.delete("/api/2fa/account/config?providerType=TOTP", headers=headers)
    assert r.status_code == 400 and r.json()["message"] == "2FA not configured"
    enroll_totp(client, headers)
    enroll_backup(client, headers)
    r = client.delete("/api/2fa/account/config?providerType=TOTP", headers=headers)
    assert r.status_code == 200 and r.json() == {"configs": {}}  # backup codes never stay alone
    assert "scope" not in login(client, EMAIL, PASSWORD)


def test_disabled_provider_is_pruned_for_good(container, client, sysadmin_headers, headers) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, headers)
    enroll_delivered(client, container, headers, "SMS", "+12015551111")
    save_platform(client, sysadmin_headers, providers=[{"providerType": "SMS", "verificationCodeLifetime": 60,
                                                        "smsVerificationMessageTemplate": "Code ${code}"}])
    configs = client.get("/api/2fa/account/settings", headers=headers).json()["configs"]
    assert list(configs) == ["SMS"] and configs["SMS"]["useByDefault"]
    save_platform(client, sysadmin_headers)
    assert list(client.get("/api/2fa/account/settings", headers=headers).json()["configs"]) == ["SMS"]


def test_admin_reset_revokes_tokens_when_empty(container, client, sysadmin_headers, headers) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, headers)
    user_id = client.get("/api/auth/user", headers=headers).json()["id"]["id"]
    r = client.get(f"/api/2fa/{user_id}/settings", headers=sysadmin_headers)
    assert list(r.json()["configs"]) == ["TOTP"]
    r = client.delete(f"/api/2fa/{user_id}/config?providerType=TOTP", headers=sysadmin_headers)
    assert r.status_code == 200 and r.json() == {"configs": {}}
    assert client.get("/api/auth/user", headers=headers).status_code == 401  # tokens revoked
    assert "scope" not in login(client, EMAIL, PASSWORD)
    logs = client.get("/api/audit/logs?pageSize=50&page=0", headers=sysadmin_headers)
    if logs.status_code == 200:
        assert any(e["actionData"].get("twoFaReset") == "TOTP" for e in logs.json()["data"])


def test_tenant_admin_cannot_reset_foreign_users(container, client, sysadmin_headers, headers) -> None:  # type: ignore[no-untyped-def]
    enroll_totp(client, headers)
    victim = client.get("/api/auth/user", headers=headers).json()["id"]["id"]
    create_user(container, "other@example.com", PASSWORD)  # another tenant
    other = full_headers(client, "other@example.com", PASSWORD)
    assert client.delete(f"/api/2fa/{victim}/config?providerType=TOTP", headers=other).status_code == 403
    sysadmin_id = client.get("/api/auth/user", headers=sysadmin_headers).json()["id"]["id"]
    assert client.get(f"/api/2fa/{sysadmin_id}/settings", headers=other).status_code == 403
    assert client.get("/api/2fa/not-a-uuid/settings", headers=sysadmin_headers).status_code == 400
    assert client.get("/api/2fa/00000000-0000-0000-0000-000000000001/settings", headers=sysadmin_headers).status_code == 404


def test_change_notifications(container, client, headers) -> None:  # type: ignore[no-untyped-def]
    from tests.support import outbox

    enroll_totp(client, headers)
    notes = [m for m in outbox(container.config) if m["to"] == EMAIL]
    assert len(notes) == 1 and "Authenticator app added" in notes[0]["body"]


def test_platform_settings_need_mail_and_sms(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import platform

    container.config.outbox = False  # the conftest restores the config for the next test
    r = client.post("/api/2fa/settings", headers=sysadmin_headers, json=platform())
    assert r.status_code == 400 and r.json()["message"] == "SMS service is not configured"
    only_email = [p for p in platform()["providers"] if p["providerType"] in ("TOTP", "EMAIL")]
    r = client.post("/api/2fa/settings", headers=sysadmin_headers, json=platform(providers=only_email))
    assert r.status_code == 400 and r.json()["message"] == "Mail service is not set up"
