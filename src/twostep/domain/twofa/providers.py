from __future__ import annotations

from enum import StrEnum


class ProviderType(StrEnum):
    """Enum order matters: it picks the default provider after a deletion (ThingsBoard §3.7)."""

    TOTP = "TOTP"
    SMS = "SMS"
    EMAIL = "EMAIL"
    BACKUP_CODE = "BACKUP_CODE"


ORDER = {p: i for i, p in enumerate(ProviderType)}


def parse_provider(value: str | None) -> ProviderType:
    from twostep.domain.errors import BadRequest

    try:
        return ProviderType(value)  # type: ignore[arg-type]
    except ValueError:
        raise BadRequest(
            f"Failed to convert value '{value}' to TwoFaProviderType: use one of TOTP, SMS, EMAIL, BACKUP_CODE"
        ) from None
