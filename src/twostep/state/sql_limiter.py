"""Fixed-window counters in the `rate_limit` table (ThingsBoard's Bucket4j 'refill intervally').

The window starts at the first event and all capacity returns at once when it ends. One UPSERT
both counts and reads, so concurrent requests on any instance see a consistent count.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, bindparam, delete, text

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
# Built once: an IN list built per call cost as much as the rest of a check's bucket work.
_CLEAR = delete(t.rate_limit).where(t.rate_limit.c.key.in_(bindparam("keys", expanding=True)))


class SqlLimiter:
    in_database = True

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def _within(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn  # the caller's transaction
        else:
            with self._db.single() as own:
                yield own

    def hit(
        self, key: str, *, capacity: int, period_s: int, conn: Connection | None = None
    ) -> bool:
        now = now_ms()
        with self._within(conn) as c:
            count = c.execute(
                _HIT, {"key": key, "now": now, "expires": now + period_s * 1000}
            ).scalar_one()
        return int(count) <= capacity

    def clear(self, keys: list[str], conn: Connection | None = None) -> None:
        if not keys:
            return
        with self._within(conn) as c:
            c.execute(_CLEAR, {"keys": keys})

    def ping(self) -> None:
        return None
