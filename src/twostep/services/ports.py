"""The adapters the services use, as Protocols: the composition root (bootstrap.build) chooses the
implementations (crypto, state, channels); the services see only these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Connection


class PasswordHashing(Protocol):
    """argon2id, with a bounded number of hashes at once (crypto.PasswordHasher)."""

    def hash(self, password: str) -> str: ...

    def verify(self, stored: str | None, password: str) -> bool: ...

    def needs_rehash(self, stored: str) -> bool: ...


class Sealing(Protocol):
    """Authenticated encryption bound to a context (crypto.SecretBox)."""

    def seal(self, plaintext: str, *, context: str) -> str: ...

    def open(self, token: str, *, context: str) -> str: ...


class CodeHashing(Protocol):
    """Keyed hashes of codes and tokens, bound to a scope (crypto.CodeHasher)."""

    def hash(self, value: str, *, scope: str) -> str: ...


class Limiter(Protocol):
    """Fixed-window counters in the database or in Redis (state.*)."""

    # True when the counters live in the database: `conn` then puts a hit or a clear into the
    # caller's transaction (one write transaction instead of three for a second-step check).
    in_database: bool

    def hit(
        self, key: str, *, capacity: int, period_s: int, conn: Connection | None = None
    ) -> bool:
        """Count one event in key's fixed window; True while the count is within capacity."""
        ...

    def clear(self, keys: list[str], conn: Connection | None = None) -> None: ...

    def ping(self) -> None: ...


class Delivery(Protocol):
    """Mail and SMS through the configured transports (channels.delivery.Delivery)."""

    def mail_configured(self) -> bool: ...

    def sms_configured(self) -> bool: ...

    def send_email(self, to: str, template: str, context: dict[str, Any]) -> None: ...

    def send_sms(self, to: str, text: str) -> None: ...

    def test_mail(self, settings: dict[str, Any], to: str) -> None: ...

    def test_sms(
        self, provider: dict[str, Any], to: str | None, text: str, allowed_types: Iterable[str]
    ) -> None: ...
