"""ThingsBoard's 2FA JSON names live here and only here."""

from __future__ import annotations

from typing import Any

from twostep.domain.errors import BadRequest
from twostep.domain.twofa.otp import provisioning_uri
from twostep.domain.twofa.providers import ProviderType, parse_provider
from twostep.services.twofa_account import AccountView, ConfigView, Generated, Submitted
from twostep.services.twofa_login import ProviderInfo

REDACTED_SECRET = "REDACTED"


def config_json(view: ConfigView) -> dict[str, Any]:
    body: dict[str, Any] = {"providerType": view.type.value, "useByDefault": view.default}
    if view.type == ProviderType.TOTP:
        # After enrollment the secret never leaves the server; the field the client requires stays.
        body["authUrl"] = provisioning_uri(
            REDACTED_SECRET, issuer=view.issuer or "", account=view.account or ""
        )
    elif view.type == ProviderType.SMS:
        body["phoneNumber"] = view.phone
    elif view.type == ProviderType.EMAIL:
        body["email"] = view.email
    else:
        body["codes"] = []  # hidden; ThingsBoard's null breaks tb-rest-client 4.4
        body["codesLeft"] = view.codes_left
    return body


def account_settings_json(view: AccountView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"configs": {c.type.value: config_json(c) for c in view.configs}}


def generated_json(generated: Generated) -> dict[str, Any]:
    body: dict[str, Any] = {"providerType": generated.type.value, "useByDefault": False}
    if generated.type == ProviderType.TOTP:
        body["authUrl"] = generated.auth_url
    elif generated.type == ProviderType.SMS:
        body["phoneNumber"] = ""  # ThingsBoard's null breaks tb-rest-client 4.4
    elif generated.type == ProviderType.EMAIL:
        body["email"] = generated.email
    else:
        body["codes"] = generated.backup_codes
        body["codesLeft"] = len(generated.backup_codes)
    return body


def provider_info_json(info: ProviderInfo) -> dict[str, Any]:
    return {
        "type": info.type.value,
        "default": info.default,
        "contact": info.contact,
        "minVerificationCodeSendPeriod": info.min_send_period,
    }


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"Validation error: {name} must be a string")
    return value  # type: ignore[no-any-return]


def parse_account_config(body: Any) -> Submitted:
    if not isinstance(body, dict):
        raise BadRequest("Invalid request body")
    kind = body.get("providerType")
    if kind is None:
        raise BadRequest("Validation error: providerType must not be null")
    provider = parse_provider(kind if isinstance(kind, str) else None)
    default = body.get("useByDefault", False)
    if default is None:
        default = False
    if not isinstance(default, bool):
        raise BadRequest("Validation error: useByDefault must be a boolean")
    codes = body.get("codes")
    if provider == ProviderType.BACKUP_CODE:
        if not isinstance(codes, list) or not codes:
            raise BadRequest("Validation error: codes must not be empty")
        if len(codes) > 100 or not all(isinstance(x, str) for x in codes):
            raise BadRequest("Validation error: codes must be a list of strings")
    if provider == ProviderType.TOTP:
        auth_url = _optional_str(body, "authUrl")
        if not auth_url or not auth_url.strip():
            raise BadRequest("Validation error: authUrl must not be blank")
        if not auth_url.startswith("otpauth://totp/") or len(auth_url) > 2048:
            raise BadRequest("Validation error: authUrl is invalid")
    return Submitted(
        type=provider,
        use_by_default=default,
        auth_url=_optional_str(body, "authUrl"),
        phone=_optional_str(body, "phoneNumber"),
        email=_optional_str(body, "email"),
        codes=codes if provider == ProviderType.BACKUP_CODE else None,
    )


def parse_update(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("useByDefault"), bool):
        raise BadRequest("Validation error: useByDefault must be a boolean")
    return bool(body["useByDefault"])


def provider_param(value: str) -> ProviderType:
    return parse_provider(value)
