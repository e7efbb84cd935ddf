"""Email codes: like SMS codes, sent to a verified address."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from twostep.domain.twofa.platform import ProviderSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers import delivered_code
from twostep.providers.base import Consume, Generated, Submitted, Tools


class EmailProvider:
    kind: ClassVar[ProviderType] = ProviderType.EMAIL
    delivers_code: ClassVar[bool] = True

    @staticmethod
    def destination(config: Any) -> str:
        return config.email  # type: ignore[no-any-return]

    def generate(self, tools: Tools, *, user_id: uuid.UUID, email: str, settings: ProviderSettings) -> tuple[Generated, dict[str, Any]]:
        return Generated(self.kind, email=email), {}  # prefilled with the account's address

    def confirm_setup(self, tools: Tools, *, user_id: uuid.UUID, submitted: Submitted, code: str | None, pending: Any) -> dict[str, Any]:
        delivered_code.confirm_setup(tools, user_id=user_id, provider=self.kind, target=submitted.email, code=code, pending=pending)
        return {"email": submitted.email}

    def login_consume(self, tools: Tools, *, user_id: uuid.UUID, config: Any, code: str | None, attempt_id: uuid.UUID) -> Consume | None:
        return delivered_code.login_consume(tools, provider=self.kind, target=self.destination(config), code=code, attempt_id=attempt_id)
