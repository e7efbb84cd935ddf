"""Authenticator app (RFC 6238). Secrets are sealed at rest; a used time step never works again."""

from __future__ import annotations

import re
import uuid
from typing import Any, ClassVar

from twostep.domain.errors import BadRequest
from twostep.domain.twofa import codes, otp
from twostep.domain.twofa.platform import ProviderSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers.base import INCORRECT, Consume, Generated, Submitted, Tools, TotpStep

_SECRET = re.compile(r"[?&]secret=([A-Za-z2-7]+)(?:&|$)")


def pending_context(user_id: uuid.UUID) -> str:
    return f"pending-totp:{user_id}"


def config_context(config_id: uuid.UUID) -> str:
    return f"totp:{config_id}"


def secret_in(auth_url: str | None) -> str | None:
    match = _SECRET.search(auth_url or "")
    return match.group(1) if match else None


class TotpProvider:
    kind: ClassVar[ProviderType] = ProviderType.TOTP
    delivers_code: ClassVar[bool] = False

    def generate(self, tools: Tools, *, user_id: uuid.UUID, email: str, settings: ProviderSettings) -> tuple[Generated, dict[str, Any]]:
        secret = otp.new_secret()
        issuer = settings.issuer_name or ""
        pending = {"totp_secret_enc": tools.seal(secret, pending_context(user_id)), "totp_issuer": issuer}
        return Generated(self.kind, auth_url=otp.provisioning_uri(secret, issuer=issuer, account=email)), pending

    def confirm_setup(self, tools: Tools, *, user_id: uuid.UUID, submitted: Submitted, code: str | None, pending: Any) -> dict[str, Any]:
        if not codes.is_numeric_code(code) or pending is None or pending.totp_secret_enc is None:
            raise BadRequest(INCORRECT)
        secret = tools.open(pending.totp_secret_enc, pending_context(user_id))
        # Only the secret the server generated can be activated.
        if not tools.same(secret_in(submitted.auth_url), secret):
            raise BadRequest(INCORRECT)
        step = otp.match_step(secret, code, now=tools.now_ms / 1000, back_steps=tools.drift_steps)  # type: ignore[arg-type]
        if step is None:
            raise BadRequest(INCORRECT)
        # The enrollment code's step counts as used: it cannot log in afterwards.
        return {"totp_secret": secret, "totp_issuer": pending.totp_issuer, "last_used_step": step}

    def login_consume(self, tools: Tools, *, user_id: uuid.UUID, config: Any, code: str | None, attempt_id: uuid.UUID) -> Consume | None:
        if not codes.is_numeric_code(code):
            return None
        secret = tools.open(config.totp_secret_enc, config_context(config.id))
        step = otp.match_step(secret, code, now=tools.now_ms / 1000, back_steps=tools.drift_steps)  # type: ignore[arg-type]
        return TotpStep(config.id, step) if step is not None else None
