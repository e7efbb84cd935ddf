"""Identifiers and time, ThingsBoard style."""

from __future__ import annotations

import time
import uuid

NULL_UUID = uuid.UUID("13814000-1dd2-11b2-8080-808080808080")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_uuid(value: str) -> uuid.UUID:
    from twostep.domain.errors import BadRequest

    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(f"Invalid UUID string: {value}") from None
