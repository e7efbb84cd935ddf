"""What every second factor implements, and the values providers and services exchange.

Providers are pure: they decide, and describe what must be consumed; services/twofa/config_store.py
performs the consumption with one conditional write, and services deliver any code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from twostep.domain.twofa.platform import ProviderSettings
from twostep.domain.twofa.providers import ProviderType

INCORRECT = "Verification code is incorrect"


@dataclass(frozen=True)
class Tools:
    """Crypto and time, handed in so providers stay free of I/O and globals."""

    seal: Callable[[str, str], str]  # (plaintext, context) -> ciphertext
    open: Callable[[str, str], str]  # (ciphertext, context) -> plaintext
    keyed_hash: Callable[[str, str], str]  # (value, scope) -> hex digest
    same: Callable[[str | None, str | None], bool]  # constant-time equality
    now_ms: int
    drift_steps: int
    backup_code_length: int = 8  # hex characters of newly generated backup codes


@dataclass(frozen=True)
class Generated:
    type: ProviderType
    auth_url: str | None = None
    email: str | None = None
    backup_codes: list[str] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class Submitted:
    """A provider config sent by the client (submit / verify-and-save)."""

    type: ProviderType
    use_by_default: bool = False
    auth_url: str | None = None
    phone: str | None = None
    email: str | None = None
    codes: list[str] | None = field(default=None, repr=False)


# What a successful login check consumes (each exactly once).
@dataclass(frozen=True)
class TotpStep:
    config_id: uuid.UUID
    step: int


@dataclass(frozen=True)
class BackupCodeUse:
    config_id: uuid.UUID
    code_hash: str = field(repr=False)


@dataclass(frozen=True)
class AttemptCode:
    attempt_id: uuid.UUID
    provider: ProviderType
    target: str
    code_hash: str = field(repr=False)


Consume = TotpStep | BackupCodeUse | AttemptCode


class Provider(Protocol):
    kind: ClassVar[ProviderType]
    delivers_code: ClassVar[bool]

    def generate(self, tools: Tools, *, user_id: uuid.UUID, email: str, settings: ProviderSettings) -> tuple[Generated, dict[str, Any]]:
        """The config template for the client and the pending state the server keeps."""

    def confirm_setup(self, tools: Tools, *, user_id: uuid.UUID, submitted: Submitted, code: str | None, pending: Any) -> dict[str, Any]:
        """Check verify-and-save against the pending state; the columns to store, or BadRequest."""

    def login_consume(self, tools: Tools, *, user_id: uuid.UUID, config: Any, code: str | None, attempt_id: uuid.UUID) -> Consume | None:
        """What a correct login code consumes, or None when the code is wrong."""
