"""Shared, short-lived counters (rate limits, send caps): in the database or in Redis."""

from __future__ import annotations

from twostep.config import Config
from twostep.services.ports import Limiter
from twostep.storage.db import Database


def build_limiter(config: Config, db: Database) -> Limiter:
    if config.redis_url:
        from twostep.state.redis_limiter import RedisLimiter

        return RedisLimiter(config.redis_url)
    from twostep.state.sql_limiter import SqlLimiter

    return SqlLimiter(db)
