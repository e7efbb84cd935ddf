"""Shared logic of the methods that send a six-digit code (SMS, email): has-a, not is-a."""

from __future__ import annotations

import uuid
from typing import Any

from twostep.domain.errors import BadRequest
from twostep.domain.twofa import codes
from twostep.domain.twofa.providers import ProviderType
from twostep.providers.base import INCORRECT, AttemptCode, Consume, Tools


def setup_scope(user_id: uuid.UUID, provider: ProviderType, target: str) -> str:
    return f"setup:{user_id}:{provider.value}:{target}"


def login_scope(attempt_id: uuid.UUID, provider: ProviderType, target: str) -> str:
    return f"login:{attempt_id}:{provider.value}:{target}"


def confirm_setup(tools: Tools, *, user_id: uuid.UUID, provider: ProviderType, target: str | None, code: str | None, pending: Any) -> None:
    """The setup code must be the one sent to exactly this destination, unexpired."""
    if not codes.is_numeric_code(code) or target is None:
        raise BadRequest(INCORRECT)
    if pending is None or pending.code_hash is None or pending.target != target:
        raise BadRequest(INCORRECT)
    if pending.code_expires_at < tools.now_ms:
        raise BadRequest(INCORRECT)
    if not tools.same(tools.keyed_hash(code, setup_scope(user_id, provider, target)), pending.code_hash):  # type: ignore[arg-type]
        raise BadRequest(INCORRECT)


def login_consume(tools: Tools, *, provider: ProviderType, target: str, code: str | None, attempt_id: uuid.UUID) -> Consume | None:
    if not codes.is_numeric_code(code):
        return None
    digest = tools.keyed_hash(code, login_scope(attempt_id, provider, target))  # type: ignore[arg-type]
    return AttemptCode(attempt_id, provider, target, digest)
