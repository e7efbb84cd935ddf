from __future__ import annotations

from enum import StrEnum


class ProviderType(StrEnum):
    """Enum order matters: it picks the default provider after a deletion (ThingsBoard §3.7)."""

    TOTP = "TOTP"
    SMS = "SMS"
    EMAIL = "EMAIL"
    BACKUP_CODE = "BACKUP_CODE"


ORDER = {p: i for i, p in enumerate(ProviderType)}
