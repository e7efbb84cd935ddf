"""SMS codes: sent to a verified E.164 number; the code is bound to the login attempt and number."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from twostep.domain.twofa.platform import ProviderSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers import delivered_code
from twostep.providers.base import Consume, Generated, Submitted, Tools


class SmsProvider:
    kind: ClassVar[ProviderType] = ProviderType.SMS
    delivers_code: ClassVar[bool] = True

    @staticmethod
    def destination(config: Any) -> str:
        return config.phone_number  # type: ignore[no-any-return]

    def generate(self, tools: Tools, *, user_id: uuid.UUID, email: str, settings: ProviderSettings) -> tuple[Generated, dict[str, Any]]:
        return Generated(self.kind), {}

    def confirm_setup(self, tools: Tools, *, user_id: uuid.UUID, submitted: Submitted, code: str | None, pending: Any) -> dict[str, Any]:
        delivered_code.confirm_setup(tools, user_id=user_id, provider=self.kind, target=submitted.phone, code=code, pending=pending)
        return {"phone_number": submitted.phone}

    def login_consume(self, tools: Tools, *, user_id: uuid.UUID, config: Any, code: str | None, attempt_id: uuid.UUID) -> Consume | None:
        return delivered_code.login_consume(tools, provider=self.kind, target=self.destination(config), code=code, attempt_id=attempt_id)
