"""Shared, short-lived counters (rate limits, send caps): in the database or in Redis."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from twostep.config import Config
from twostep.storage.db import Database


class Limiter(Protocol):
    # True when the counters live in the database: `conn` then puts a hit or a clear into the
    # caller's transaction (one write transaction instead of three for a second-step check).
    in_database: bool

    def hit(
        self, key: str, *, capacity: int, period_s: int, conn: Connection | None = None
    ) -> bool:
        """Count one event in key's fixed window; True while the count is within capacity."""

    def clear(self, keys: list[str], conn: Connection | None = None) -> None: ...

    def ping(self) -> None: ...


def build_limiter(config: Config, db: Database) -> Limiter:
    if config.redis_url:
        from twostep.state.redis_limiter import RedisLimiter

        return RedisLimiter(config.redis_url)
    from twostep.state.sql_limiter import SqlLimiter

    return SqlLimiter(db)
