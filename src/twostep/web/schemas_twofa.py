"""ThingsBoard's 2FA JSON names live here and only here."""

from __future__ import annotations

from typing import Any

from twostep.domain.errors import BadRequest
from twostep.domain.twofa.otp import is_auth_url, provisioning_uri
from twostep.domain.twofa.providers import ProviderType
from twostep.services.twofa.enrollment import AccountView, ConfigView, Generated, Submitted
from twostep.services.twofa.second_step import ProviderInfo

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
    provider = body_provider(body.get("providerType"))
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
        if len(auth_url) > 2048 or not is_auth_url(auth_url):
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


# ThingsBoard's answers for a bad providerType are Spring's and Jackson's texts, naming its classes.
_TB_PROVIDER_TYPE = "org.thingsboard.server.common.data.security.model.mfa.provider.TwoFaProviderType"
_TB_ACCOUNT_CONFIG = "org.thingsboard.server.common.data.security.model.mfa.account.TwoFaAccountConfig"


def _concise(value: str) -> str:
    """Spring's rendering of a rejected value: long ones cut at 100 characters."""
    return value if len(value) <= 100 else value[:100] + " (truncated)..."


def provider_param(value: str | None) -> ProviderType:
    """The providerType query parameter, refused as ThingsBoard (Spring) refuses it."""
    if value is None:
        raise BadRequest(
            "Required request parameter 'providerType' for method parameter type "
            "TwoFaProviderType is not present"
        )
    if value == "":
        raise BadRequest(
            "Required request parameter 'providerType' for method parameter type "
            "TwoFaProviderType is present but converted to null"
        )
    try:
        return ProviderType(value)
    except ValueError:
        raise BadRequest(
            "Method parameter 'providerType': Failed to convert value of type 'java.lang.String' "
            f"to required type '{_TB_PROVIDER_TYPE}'; Failed to convert from type "
            "[java.lang.String] to type [@org.springframework.web.bind.annotation.RequestParam "
            f"{_TB_PROVIDER_TYPE}] for value [{_concise(value)}]"
        ) from None


def body_provider(value: Any) -> ProviderType:
    """The providerType of an account config body, refused as ThingsBoard (Jackson) refuses it."""
    if value is None:
        raise BadRequest(
            "JSON parse error: Could not resolve subtype of [simple type, class "
            f"{_TB_ACCOUNT_CONFIG}]: missing type id property 'providerType'"
        )
    try:
        return ProviderType(value) if isinstance(value, str) else ProviderType("")
    except ValueError:
        shown = _concise(value if isinstance(value, str) else str(value))
        raise BadRequest(
            f"JSON parse error: Could not resolve type id '{shown}' as a subtype of "
            f"`{_TB_ACCOUNT_CONFIG}`: known type ids = [BACKUP_CODE, EMAIL, SMS, TOTP]"
        ) from None
