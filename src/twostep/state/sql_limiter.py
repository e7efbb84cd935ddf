"""Fixed-window counters in the `rate_limit` table (ThingsBoard's Bucket4j 'refill intervally').

The window starts at the first event and all capacity returns at once when it ends. One UPSERT
both counts and reads, so concurrent requests on any instance see a consistent count.
"""

from __future__ import annotations

from sqlalchemy import delete, text

from twostep.domain.ids import now_ms
from twostep.storage import tables as t
from twostep.storage.db import Database

_HIT = text(
    """
    INSERT INTO rate_limit (key, window_start, count, expires_at)
    VALUES (:key, :now, 1, :expires)
    ON CONFLICT (key) DO UPDATE SET
      window_start = CASE WHEN rate_limit.expires_at <= :now THEN :now ELSE rate_limit.window_start END,
      count = CASE WHEN rate_limit.expires_at <= :now THEN 1 ELSE rate_limit.count + 1 END,
      expires_at = CASE WHEN rate_limit.expires_at <= :now THEN :expires ELSE rate_limit.expires_at END
    RETURNING count
    """
)


class SqlLimiter:
    def __init__(self, db: Database) -> None:
        self._db = db

    def hit(self, key: str, *, capacity: int, period_s: int) -> bool:
        now = now_ms()
        with self._db.transaction() as conn:
            count = conn.execute(
                _HIT, {"key": key, "now": now, "expires": now + period_s * 1000}
            ).scalar_one()
        return int(count) <= capacity

    def clear(self, keys: list[str]) -> None:
        if not keys:
            return
        with self._db.transaction() as conn:
            conn.execute(delete(t.rate_limit).where(t.rate_limit.c.key.in_(keys)))

    def ping(self) -> None:
        return None
