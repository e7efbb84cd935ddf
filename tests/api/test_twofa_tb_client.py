"""The whole 2FA cycle driven by the official tb-rest-client 4.4, as shipped (issue 3, must-show 1)."""

from __future__ import annotations

import time

import jwt
import pytest
from tb_rest_client.models import (
    BackupCodeTwoFaProviderConfig,
    EmailTwoFaProviderConfig,
    PlatformTwoFaSettings,
    SmsTwoFaProviderConfig,
    TotpTwoFaAccountConfig,
    TotpTwoFaProviderConfig,
)
from tb_rest_client.rest import ApiException
from tb_rest_client.rest_client import RestClient

from tests.factories import create_user, fresh_step_time, oathtool, secret_of
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD, clear_outbox, outbox

USER = "tenant@thingsboard.org"
PASSWORD = "tenant-Pa55word"


def _platform_settings() -> PlatformTwoFaSettings:
    return PlatformTwoFaSettings(
        providers=[
            TotpTwoFaProviderConfig(provider_type="TOTP", issuer_name="TB 2FA"),
            SmsTwoFaProviderConfig(
                provider_type="SMS", verification_code_lifetime=120,
                sms_verification_message_template="Here is your code: ${code}",
            ),
            EmailTwoFaProviderConfig(provider_type="EMAIL", verification_code_lifetime=120),
            BackupCodeTwoFaProviderConfig(provider_type="BACKUP_CODE", codes_quantity=5),
        ],
        min_verification_code_send_period=5,
        verification_code_check_rate_limit="5:60",
        max_verification_failures_before_user_lockout=10,
        total_allowed_time_for_verification=600,
    )


def _second_step(live_server, provider: str, code_for) -> RestClient:  # type: ignore[no-untyped-def]
    """Password, then the second step with the given provider; returns a fully logged-in client."""
    client = RestClient(live_server.url)
    client.login(USER, PASSWORD)
    pre = client.get_token()
    assert pre is not None
    assert jwt.decode(pre, options={"verify_signature": False})["scopes"] == ["PRE_VERIFICATION_TOKEN"]
    infos = client.get_available_two_fa_providers_v1()
    assert provider in [i.type for i in infos]
    if provider in ("SMS", "EMAIL"):
        client.request_two_fa_verification_code(provider)
    pair = client.check_two_fa_verification_code(provider, code_for())
    assert pair.token and pair.refresh_token
    client.token_login(pair.token, pair.refresh_token)
    assert client.get_user().email == USER
    return client


def _last(container, channel: str) -> dict:  # type: ignore[no-untyped-def]
    return [m for m in outbox(container.config) if m["channel"] == channel][-1]


def test_full_cycle_with_tb_rest_client(container, live_server) -> None:  # type: ignore[no-untyped-def]
    create_user(container, USER, PASSWORD)

    admin = RestClient(live_server.url)
    admin.login(SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    saved = admin.save_platform_two_fa_settings(_platform_settings())
    assert [p.provider_type for p in saved.providers] == ["TOTP", "SMS", "EMAIL", "BACKUP_CODE"]
    assert admin.get_platform_two_fa_settings().verification_code_check_rate_limit == "5:60"

    user = RestClient(live_server.url)
    user.login(USER, PASSWORD)
    assert user.get_available_two_fa_providers() == ["TOTP", "SMS", "EMAIL", "BACKUP_CODE"]

    # TOTP: the code comes from oathtool, an implementation independent of ours.
    generated = user.generate_two_fa_account_config("TOTP")
    assert generated.auth_url.startswith("otpauth://totp/TB%202FA:tenant@thingsboard.org?issuer=TB+2FA&secret=")
    secret = secret_of(generated.auth_url)
    assert len(secret) == 32
    settings = user.verify_and_save_two_fa_account_config(
        TotpTwoFaAccountConfig(provider_type="TOTP", auth_url=generated.auth_url, use_by_default=True),
        verification_code=oathtool(secret, fresh_step_time()),
    )
    assert settings.configs["TOTP"].use_by_default is True
    assert secret not in settings.configs["TOTP"].auth_url  # never shown again

    # Email: the setup code is read from the development outbox.
    email_config = user.generate_two_fa_account_config("EMAIL")
    assert email_config.email == USER
    user.submit_two_fa_account_config(email_config)
    setup_code = _last(container, "email")["body"].split("Your verification code: ")[1][:6]
    user.verify_and_save_two_fa_account_config(email_config, verification_code=setup_code)

    # SMS: ThingsBoard answers phoneNumber null, which this client cannot read; we answer "".
    sms_config = user.generate_two_fa_account_config("SMS")
    sms_config.phone_number = "+12015551111"
    user.submit_two_fa_account_config(sms_config)
    sms = _last(container, "sms")
    assert sms["to"] == "+12015551111" and sms["body"].startswith("Here is your code: ")
    user.verify_and_save_two_fa_account_config(sms_config, verification_code=sms["body"][-6:])

    # Backup codes: generated server-side, shown once, activated as generated.
    backup = user.generate_two_fa_account_config("BACKUP_CODE")
    assert len(backup.codes) == 5 and backup.codes_left == 5
    codes = list(backup.codes)
    settings = user.verify_and_save_two_fa_account_config(backup)
    assert settings.configs["BACKUP_CODE"].codes == [] and settings.configs["BACKUP_CODE"].codes_left == 5
    assert set(user.get_account_two_fa_settings().configs) == {"TOTP", "EMAIL", "SMS", "BACKUP_CODE"}

    # Log in with each provider.
    enrolled_step = int(time.time() // 30)
    clear_outbox(container.config)
    _second_step(live_server, "EMAIL", lambda: _last(container, "email")["body"].split("Your verification code: ")[1][:6])
    _second_step(live_server, "SMS", lambda: _last(container, "sms")["body"][-6:])
    client = _second_step(live_server, "BACKUP_CODE", lambda: codes[0])
    assert client.get_account_two_fa_settings().configs["BACKUP_CODE"].codes_left == 4

    # A used backup code is refused.
    again = RestClient(live_server.url)
    again.login(USER, PASSWORD)
    with pytest.raises(ApiException) as err:
        again.check_two_fa_verification_code("BACKUP_CODE", codes[0])
    assert err.value.status == 400 and b"Verification code is incorrect" in err.value.body

    # TOTP: the enrollment used its step, so the login waits for the next one.
    wait_for_step_after(enrolled_step)
    _second_step(live_server, "TOTP", lambda: oathtool(secret))


def wait_for_step_after(step: int) -> None:
    while int(time.time() // 30) <= step:
        time.sleep(0.2)
