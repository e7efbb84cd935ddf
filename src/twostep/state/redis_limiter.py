"""Fixed-window counters in Redis, shared by every instance. Errors propagate: callers fail closed."""

from __future__ import annotations

import redis

from twostep.domain.errors import ServiceUnavailable

# INCR, and start the window's expiry on the first event only.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisLimiter:
    in_database = False

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._hit = self._redis.register_script(_HIT)

    def hit(self, key: str, *, capacity: int, period_s: int, conn: object = None) -> bool:
        try:
            count = self._hit(keys=[f"twostep:rl:{key}"], args=[period_s * 1000])
        except redis.RedisError as exc:
            raise ServiceUnavailable("Rate limiting is unavailable") from exc
        return int(count) <= capacity

    def clear(self, keys: list[str], conn: object = None) -> None:
        if not keys:
            return
        try:
            self._redis.delete(*[f"twostep:rl:{k}" for k in keys])
        except redis.RedisError as exc:
            raise ServiceUnavailable("Rate limiting is unavailable") from exc

    def ping(self) -> None:
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise ServiceUnavailable("Redis is unavailable") from exc

    def close(self) -> None:
        self._redis.close()
