"""One module per second factor, all listed here (the one registry; no discovery)."""

from __future__ import annotations

from twostep.domain.twofa.providers import ProviderType
from twostep.providers.backup_code import BackupCodeProvider
from twostep.providers.base import Provider
from twostep.providers.email import EmailProvider
from twostep.providers.sms import SmsProvider
from twostep.providers.totp import TotpProvider

REGISTRY: dict[ProviderType, Provider] = {
    ProviderType.TOTP: TotpProvider(),
    ProviderType.SMS: SmsProvider(),
    ProviderType.EMAIL: EmailProvider(),
    ProviderType.BACKUP_CODE: BackupCodeProvider(),
}


def provider(kind: ProviderType) -> Provider:
    return REGISTRY[kind]
