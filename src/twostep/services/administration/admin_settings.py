"""Admin settings use cases: the generic GET/POST of ThingsBoard's AdminController (spec platform
§3.1) and the mail/SMS test sends (§3.3, §3.5).

Hardening over ThingsBoard: every secret of the `mail` and `sms` settings is write-only (see
channels/settings_secrets.py) and sealed at rest; `jwt`, `securitySettings` and `twoFaSettings`
are refused here because they have dedicated, validating endpoints (the generic path would hand
out the JWT signing key and bypass their validation).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from twostep.bootstrap import Container
from twostep.channels.delivery import SMS_PROVIDER_TYPES, build_sms_sender
from twostep.channels.errors import ChannelConfigError
from twostep.channels.settings_secrets import merge, public_view, seal, unseal
from twostep.channels.smtp import SmtpSettings
from twostep.domain import phone_numbers
from twostep.domain.errors import BadRequest, DeliveryFailed, NotFound
from twostep.domain.ids import NULL_UUID, new_id, now_ms, parse_uuid
from twostep.services.records import audit, stored_settings
from twostep.services.values import Principal
from twostep.storage import tables as t

PROTECTED_KEYS = ("jwt", "securitySettings", "twoFaSettings")
EXISTS = "Admin settings with such name already exists!"
MAX_KEY_LENGTH = 255
# ThingsBoard drops the refresh token when the OAuth2 client changes; authUri/tokenUri added: the
# token must never follow a changed token endpoint.
_OAUTH2_CLIENT_FIELDS = (
    "providerId", "clientId", "clientSecret", "redirectUri", "providerTenantId",
    "authUri", "tokenUri",
)  # fmt: skip


def _refuse_protected(key: str) -> None:
    if key in PROTECTED_KEYS:
        raise BadRequest(
            f"Admin settings '{key}' can only be read and saved through their own endpoint"
        )


def _settings_json(row: Any, key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": {"entityType": "ADMIN_SETTINGS", "id": str(row.id)},
        "createdTime": row.created_time,
        "tenantId": {"entityType": "TENANT", "id": str(row.tenant_id)},
        "key": key,
        "jsonValue": public_view(key, value),
    }


def get(c: Container, key: str) -> dict[str, Any]:
    _refuse_protected(key)
    with c.db.read() as conn:
        row = stored_settings.get_row(conn, key)
    if row is None:
        raise NotFound(f"No Administration settings found for key: {key}")
    return _settings_json(row, key, dict(row.json_value))


def _body_id(body: dict[str, Any]) -> uuid.UUID | None:
    raw = body.get("id")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw.get("entityType") or not raw.get("id"):
        raise BadRequest("Missing entityType or id!")
    return parse_uuid(str(raw["id"]))


def _stored_plain(c: Container, key: str, row: Any) -> dict[str, Any] | None:
    return unseal(c.box, key, dict(row.json_value)) if row is not None else None


def _prepare(key: str, value: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """Merge omitted secrets, apply ThingsBoard's OAuth2 rule, and check the settings can build a
    transport (a 400 before anything is written, instead of ThingsBoard's 500 after)."""
    try:
        merged = merge(key, value, stored)
        if key == "mail":
            previous = stored or {}
            oauth2 = merged.get("enableOauth2") is True and stored is not None
            if oauth2 and any(merged.get(f) != previous.get(f) for f in _OAUTH2_CLIENT_FIELDS):
                merged["tokenGenerated"] = False
                merged.pop("refreshToken", None)
                merged.pop("refreshTokenExpires", None)
            SmtpSettings.parse(merged)
        elif key == "sms":
            if merged.get("type") not in SMS_PROVIDER_TYPES:
                raise ChannelConfigError(
                    "SMS provider type should be one of " + ", ".join(SMS_PROVIDER_TYPES)
                )
            build_sms_sender(merged, timeout_s=1.0)  # validates only; SMPP binds at send time
            problem = phone_numbers.settings_problem(merged.get(phone_numbers.SETTINGS_FIELD))
            if problem:
                raise ChannelConfigError(problem)
    except ChannelConfigError as exc:
        raise BadRequest(exc.message) from None
    return merged


def save(c: Container, body: dict[str, Any]) -> dict[str, Any]:
    key = body.get("key")
    if not isinstance(key, str) or not key.strip():
        raise BadRequest("Key should be specified!")
    if len(key) > MAX_KEY_LENGTH:  # the column's size: PostgreSQL refuses longer, SQLite stores
        raise BadRequest(f"Key should be at most {MAX_KEY_LENGTH} characters!")
    value = body.get("jsonValue")
    if value is None:
        raise BadRequest("Json value should be specified!")
    if not isinstance(value, dict):
        raise BadRequest("Json value should be a JSON object!")
    _refuse_protected(key)
    setting_id = _body_id(body)
    try:
        with c.db.transaction() as conn:
            existing = stored_settings.get_row(conn, key)
            if setting_id is None and existing is not None:
                raise BadRequest(EXISTS)
            if setting_id is not None:
                by_id = conn.execute(
                    select(t.admin_settings).where(
                        t.admin_settings.c.id == setting_id,
                        t.admin_settings.c.tenant_id == NULL_UUID,
                    )
                ).first()
                if by_id is not None and by_id.key != key:
                    raise BadRequest("Changing key of admin settings entry is prohibited!")
                if by_id is None and existing is not None:
                    raise BadRequest(EXISTS)
            merged = _prepare(key, value, _stored_plain(c, key, existing))
            stored_value = seal(c.box, key, merged)
            if existing is not None:
                conn.execute(
                    update(t.admin_settings)
                    .where(t.admin_settings.c.id == existing.id)
                    .values(json_value=stored_value)
                )
            else:
                conn.execute(
                    t.admin_settings.insert().values(
                        id=setting_id or new_id(),
                        created_time=now_ms(),
                        tenant_id=NULL_UUID,
                        key=key,
                        json_value=stored_value,
                    )
                )
            row = stored_settings.get_row(conn, key)
    except IntegrityError:
        # Two first saves of one key raced (or the id belongs to another row).
        raise BadRequest(EXISTS) from None
    return _settings_json(row, key, merged)


def test_mail(c: Container, principal: Principal, body: dict[str, Any]) -> None:
    """Send ThingsBoard's test message with the submitted (unsaved) settings to the caller."""
    if body.get("key") != "mail":
        return  # ThingsBoard accepts and ignores any other key
    value = body.get("jsonValue")
    if not isinstance(value, dict):
        raise BadRequest("Json value should be specified!")
    with c.db.read() as conn:
        stored = _stored_plain(c, "mail", stored_settings.get_row(conn, "mail"))
    if value.get("enableOauth2") is True and not (stored or {}).get("refreshToken"):
        raise DeliveryFailed("Refresh token was not generated. Please, generate refresh token.")
    try:
        merged = merge("mail", value, stored)
    except ChannelConfigError as exc:
        raise DeliveryFailed(f"Unable to send mail: {exc.message}") from None
    c.delivery.test_mail(merged, principal.email)


def test_sms(c: Container, principal: Principal, body: dict[str, Any]) -> None:
    """Send one SMS with a throw-away sender built from the request; audit it as SMS_SENT."""
    provider = body.get("providerConfiguration")
    number = body.get("numberTo")
    message = body.get("message")
    failure: str | None = None
    # A malformed request, not a failed send: 400 and nothing audited (ThingsBoard: 500).
    if not isinstance(provider, dict):
        raise BadRequest("Unable to send SMS: providerConfiguration should be specified")
    if provider.get("type") not in SMS_PROVIDER_TYPES:
        raise BadRequest("SMS provider type should be one of " + ", ".join(SMS_PROVIDER_TYPES))
    try:
        with c.db.read() as conn:
            stored = _stored_plain(c, "sms", stored_settings.get_row(conn, "sms"))
        try:
            merged = merge("sms", provider, stored)
        except ChannelConfigError as exc:
            raise DeliveryFailed(f"Unable to send SMS: {exc.message}") from None
        # The submitted settings' number types, else the stored ones (twostep's own field).
        types = phone_numbers.allowed_types(
            merged if phone_numbers.SETTINGS_FIELD in merged else stored
        )
        c.delivery.test_sms(
            merged, number if isinstance(number, str) else None, str(message or ""), types
        )
    except DeliveryFailed as exc:
        failure = exc.message
        raise
    finally:
        with c.db.transaction() as conn:
            audit.record(
                conn,
                audit.Actor(
                    principal.user_id, principal.email, principal.tenant_id, principal.customer_id
                ),
                "SMS_SENT",
                entity_type="USER",
                entity_id=principal.user_id,
                entity_name=principal.email,
                data={"recipientNumber": number if isinstance(number, str) else None},
                failure=failure,
            )


# -- JWT settings (ThingsBoard's /api/admin/jwtSettings) -----------------------------------------

# ThingsBoard answers its signing key in clear; twostep's never leaves the server.
JWT_KEY_PLACEHOLDER = "REDACTED"
JWT_FIXED = (
    "JWT settings come from the server's configuration (TWOSTEP_JWT_ISSUER, "
    "TWOSTEP_ACCESS_TOKEN_TTL, TWOSTEP_REFRESH_TOKEN_TTL, TWOSTEP_JWT_SIGNING_KEY) and cannot be "
    "changed through the API"
)


def jwt_settings(c: Container) -> dict[str, Any]:
    """The values tokens are issued with, the signing key replaced by a placeholder."""
    return {
        "tokenExpirationTime": c.tokens.access_ttl,
        "refreshTokenExpTime": c.tokens.refresh_ttl,
        "tokenIssuer": c.tokens.issuer,
        "tokenSigningKey": JWT_KEY_PLACEHOLDER,
    }


def refuse_jwt_change() -> None:
    """Every instance must sign and check with the same key and lifetimes, which the deployment
    sets; a key changed through the API would also be a key an API caller knows."""
    raise BadRequest(JWT_FIXED)
