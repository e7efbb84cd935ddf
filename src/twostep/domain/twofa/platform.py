"""Platform 2FA settings (sysadmin, runtime): ThingsBoard's model and validation, plus hard bounds.

ThingsBoard's own rules and messages come first; twostep adds the bounds of spec/security.md §6 so
that no setting can widen an attack window (code lifetime <= 10 min, <= 100 failures, ...).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from twostep.domain.errors import BadRequest
from twostep.domain.twofa.providers import ProviderType

_RATE = re.compile(r"[1-9]\d*:[1-9]\d*")
DEFAULT_TOTAL_TIME = 1800
MAX_CODE_LIFETIME = 600
MAX_FAILURES = 100
DEFAULT_FAILURES = 30
# verificationCodeCheckRateLimit "capacity:seconds": beyond these it is no limit at all, and the
# window's end must fit a 64-bit millisecond timestamp (and Redis's expiry).
MAX_CHECK_CAPACITY = 1000
MAX_CHECK_PERIOD = 86_400
FILTER_TYPES = ("ALL_USERS", "SYSTEM_ADMINISTRATORS", "TENANT_ADMINISTRATORS")


@dataclass(frozen=True)
class ProviderSettings:
    type: ProviderType
    issuer_name: str | None = None
    code_lifetime: int | None = None
    sms_template: str | None = None
    codes_quantity: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"providerType": self.type.value}
        if self.type == ProviderType.TOTP:
            body["issuerName"] = self.issuer_name
        elif self.type == ProviderType.SMS:
            body["verificationCodeLifetime"] = self.code_lifetime
            body["smsVerificationMessageTemplate"] = self.sms_template
        elif self.type == ProviderType.EMAIL:
            body["verificationCodeLifetime"] = self.code_lifetime
        else:
            body["codesQuantity"] = self.codes_quantity
        return body


@dataclass(frozen=True)
class UsersFilter:
    type: str
    tenant_ids: frozenset[uuid.UUID] = frozenset()
    tenant_profile_ids: frozenset[uuid.UUID] = frozenset()

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        if self.type == "TENANT_ADMINISTRATORS":
            body["tenantsIds"] = sorted(str(i) for i in self.tenant_ids) or None
            body["tenantProfilesIds"] = sorted(str(i) for i in self.tenant_profile_ids) or None
        return body

    def matches(self, *, authority: str, tenant_id: uuid.UUID, tenant_profile_id: uuid.UUID | None) -> bool:
        if self.type == "ALL_USERS":
            return True
        if self.type == "SYSTEM_ADMINISTRATORS":
            return authority == "SYS_ADMIN"
        if authority != "TENANT_ADMIN":
            return False
        if self.tenant_ids:
            return tenant_id in self.tenant_ids
        if self.tenant_profile_ids:
            return tenant_profile_id in self.tenant_profile_ids
        return True


@dataclass(frozen=True)
class PlatformSettings:
    providers: tuple[ProviderSettings, ...]
    min_send_period: int
    check_rate_limit: str | None
    max_failures: int
    total_time: int
    enforce: bool = False
    users_filter: UsersFilter | None = None
    _by_type: dict[ProviderType, ProviderSettings] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_type.update({p.type: p for p in self.providers})

    def provider(self, provider_type: ProviderType) -> ProviderSettings | None:
        return self._by_type.get(provider_type)

    @property
    def provider_types(self) -> list[ProviderType]:
        return [p.type for p in self.providers]

    @property
    def token_lifetime(self) -> int:
        return self.total_time if self.total_time and self.total_time > 0 else DEFAULT_TOTAL_TIME

    def check_limit(self) -> tuple[int, int] | None:
        if not self.check_rate_limit:
            return None
        return _rate_bounds(self.check_rate_limit)

    def to_json(self) -> dict[str, Any]:
        return {
            "providers": [p.to_json() for p in self.providers],
            "minVerificationCodeSendPeriod": self.min_send_period,
            "verificationCodeCheckRateLimit": self.check_rate_limit,
            "maxVerificationFailuresBeforeUserLockout": self.max_failures,
            "totalAllowedTimeForVerification": self.total_time,
            "enforceTwoFa": self.enforce,
            "enforcedUsersFilter": self.users_filter.to_json() if self.users_filter else None,
        }


def _rate_bounds(rate: str) -> tuple[int, int]:
    """(capacity, period) of a "capacity:seconds" string matching _RATE, clamped to the bounds
    (parse refuses larger values; this is for a value stored before the bounds existed)."""
    capacity, period = (text[:8] for text in rate.split(":"))  # 8 digits already exceed both
    return min(int(capacity), MAX_CHECK_CAPACITY), min(int(period), MAX_CHECK_PERIOD)


def _within_rate_bounds(rate: str) -> bool:
    capacity, period = rate.split(":")
    return len(capacity) <= 4 and int(capacity) <= MAX_CHECK_CAPACITY and (
        len(period) <= 5 and int(period) <= MAX_CHECK_PERIOD
    )


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class _Problems:
    def __init__(self) -> None:
        self.items: set[str] = set()

    def add(self, field_name: str, message: str) -> None:
        self.items.add(f"{field_name} {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise BadRequest("Validation error: " + ", ".join(sorted(self.items)))


def _provider(raw: Any, problems: _Problems) -> ProviderSettings | None:
    if not isinstance(raw, dict):
        problems.add("providers", "must contain provider objects")
        return None
    try:
        kind = ProviderType(str(raw.get("providerType")))
    except ValueError:
        problems.add("providerType", "is invalid")
        return None
    if kind == ProviderType.TOTP:
        issuer = raw.get("issuerName")
        if not isinstance(issuer, str) or not issuer.strip():
            problems.add("issuerName", "must not be blank")
        elif ":" in issuer or len(issuer) > 255 or not issuer.isprintable():
            problems.add("issuerName", "must be printable, at most 255 characters, without ':'")
        return ProviderSettings(kind, issuer_name=issuer if isinstance(issuer, str) else None)
    if kind in (ProviderType.SMS, ProviderType.EMAIL):
        lifetime = raw.get("verificationCodeLifetime")
        if lifetime is None or (_int(lifetime) and lifetime < 1):
            problems.add("verificationCodeLifetime", "is required")
        elif not _int(lifetime):
            problems.add("verificationCodeLifetime", "must be an integer")
        elif lifetime > MAX_CODE_LIFETIME:
            problems.add("verificationCodeLifetime", f"must be less than or equal to {MAX_CODE_LIFETIME}")
        template = None
        if kind == ProviderType.SMS:
            template = raw.get("smsVerificationMessageTemplate")
            if not isinstance(template, str) or not template.strip():
                problems.add("smsVerificationMessageTemplate", "is required")
            elif "\n" in template or "\r" in template or "${code}" not in template:
                problems.add("smsVerificationMessageTemplate", "must contain verification code")
            elif len(template) > 640:
                problems.add("smsVerificationMessageTemplate", "must be at most 640 characters")
        return ProviderSettings(
            kind, code_lifetime=lifetime if _int(lifetime) else None, sms_template=template
        )
    quantity = raw.get("codesQuantity")
    if not _int(quantity) or quantity < 1:
        problems.add("codesQuantity", "must be greater than 0")
    elif quantity > 50:
        problems.add("codesQuantity", "must be less than or equal to 50")
    return ProviderSettings(kind, codes_quantity=quantity if _int(quantity) else None)


def _users_filter(raw: Any, problems: _Problems) -> UsersFilter | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("type") not in FILTER_TYPES:
        problems.add("enforcedUsersFilter", "is invalid")
        return None
    ids: dict[str, frozenset[uuid.UUID]] = {}
    for key in ("tenantsIds", "tenantProfilesIds"):
        values = raw.get(key) or []
        try:
            ids[key] = frozenset(uuid.UUID(str(v)) for v in values)
        except (ValueError, TypeError):
            problems.add(key, "must be a list of UUIDs")
            ids[key] = frozenset()
    return UsersFilter(raw["type"], ids["tenantsIds"], ids["tenantProfilesIds"])


def parse(body: Any) -> PlatformSettings:
    """Validate a PlatformTwoFaSettings body (bean-validation messages, all problems at once)."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid request body")
    problems = _Problems()
    raw_providers = body.get("providers")
    providers: list[ProviderSettings] = []
    if raw_providers is None:
        problems.add("providers", "must not be null")
    elif not isinstance(raw_providers, list):
        problems.add("providers", "must be a list")
    else:
        for raw in raw_providers:
            parsed = _provider(raw, problems)
            if parsed is not None:
                if any(p.type == parsed.type for p in providers):
                    problems.add("providers", "must not repeat a provider type")
                providers.append(parsed)
    period = body.get("minVerificationCodeSendPeriod")
    if period is None:
        problems.add("minVerificationCodeSendPeriod", "must not be null")
    elif not _int(period):
        problems.add("minVerificationCodeSendPeriod", "must be an integer")
    elif period < 5:
        problems.add("minVerificationCodeSendPeriod", "must be greater than or equal to 5")
    elif period > 3600:
        problems.add("minVerificationCodeSendPeriod", "must be less than or equal to 3600")
    rate = body.get("verificationCodeCheckRateLimit")
    if rate in ("",):
        rate = None
    if rate is not None and (not isinstance(rate, str) or not _RATE.fullmatch(rate)):
        problems.add("verificationCodeCheckRateLimit", "is invalid")
    elif rate is not None and not _within_rate_bounds(rate):
        problems.add(
            "verificationCodeCheckRateLimit",
            f"must allow at most {MAX_CHECK_CAPACITY} checks in at most {MAX_CHECK_PERIOD} seconds",
        )
    failures = body.get("maxVerificationFailuresBeforeUserLockout")
    if failures is None:
        failures = DEFAULT_FAILURES
    if not _int(failures):
        problems.add("maxVerificationFailuresBeforeUserLockout", "must be an integer")
    elif failures < 0:
        problems.add("maxVerificationFailuresBeforeUserLockout", "must be positive")
    elif not 1 <= failures <= MAX_FAILURES:
        # NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failures; 0 ("never") is not allowed.
        problems.add("maxVerificationFailuresBeforeUserLockout", f"must be between 1 and {MAX_FAILURES}")
    total = body.get("totalAllowedTimeForVerification")
    if total is None:
        problems.add("totalAllowedTimeForVerification", "must not be null")
    elif not _int(total):
        problems.add("totalAllowedTimeForVerification", "must be an integer")
    elif total < 60:
        problems.add("totalAllowedTimeForVerification", "must be greater than or equal to 60")
    elif total > 3600:
        problems.add("totalAllowedTimeForVerification", "must be less than or equal to 3600")
    enforce = body.get("enforceTwoFa", False)
    if enforce is None:
        enforce = False
    if not isinstance(enforce, bool):
        problems.add("enforceTwoFa", "must be a boolean")
    users_filter = _users_filter(body.get("enforcedUsersFilter"), problems)
    problems.raise_if_any()
    assert _int(period) and _int(total) and _int(failures)  # guaranteed by the checks above
    if providers and all(p.type == ProviderType.BACKUP_CODE for p in providers):
        raise BadRequest("Backup codes cannot be the only 2FA provider")
    return PlatformSettings(
        providers=tuple(providers),
        min_send_period=period,
        check_rate_limit=rate,
        max_failures=failures,
        total_time=total,
        enforce=enforce,
        users_filter=users_filter,
    )


def check_enforcement(settings: PlatformSettings) -> None:
    if not settings.enforce:
        return
    if not settings.providers:
        raise BadRequest("At least one 2FA provider is required if enforcing is enabled")
    if settings.users_filter is None:
        raise BadRequest("Users filter to enforce 2FA for is required")


def from_stored(body: dict[str, Any]) -> PlatformSettings:
    """The stored settings. A check rate limit saved before its bounds existed is read clamped
    into them, not refused: these settings are read by every login and second step."""
    rate = body.get("verificationCodeCheckRateLimit")
    if isinstance(rate, str) and _RATE.fullmatch(rate) and not _within_rate_bounds(rate):
        capacity, period = _rate_bounds(rate)
        body = {**body, "verificationCodeCheckRateLimit": f"{capacity}:{period}"}
    return parse(body)
