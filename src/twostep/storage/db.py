"""Engine creation and short transactions.

SQLite: WAL journal, a busy timeout, and `BEGIN IMMEDIATE` so that concurrent writers queue instead
of failing on a lock upgrade. PostgreSQL: READ COMMITTED; single-use and counters rely on
conditional UPDATEs whose row counts are checked, which hold at that level. At READ COMMITTED every
statement takes its own snapshot, so reads (and single-statement writes) run in autocommit: the same
visibility without a BEGIN and a COMMIT round trip each.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool


def make_engine(url: str, pool_size: int = 20) -> Engine:
    if url.startswith("sqlite"):
        # Pooled connections: opening one (and its PRAGMAs) per transaction cost a quarter of a
        # second-step check. Each pooled connection is used by one thread at a time.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=32,
        ) if ":memory:" not in url else create_engine(url)
        _configure_sqlite(engine)
        return engine
    # No pre-ping (a round trip per transaction): a connection found dead fails that one request
    # with 503, SQLAlchemy then discards the pool's stale connections and the next request reconnects.
    # Overflow connections are closed on return: a pool smaller than the usual concurrency opens
    # and closes a PostgreSQL backend per burst (measured in docs/benchmarks.md).
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_recycle=1800)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Reads take a deferred snapshot; writes queue for the lock up front.
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Its busy handler makes waiting writers poll with sleeps
        # of up to 100 ms, unfairly: under load that is the whole p99. This process's writers
        # queue here instead (in order, woken at once); only other processes still meet the
        # busy handler.
        self._sqlite_writers = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One short transaction: committed when the block ends, rolled back if it raises."""
        if self.is_sqlite:
            with self._sqlite_writers, self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Reads: a snapshot on SQLite (never its write lock); autocommit on PostgreSQL."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(readonly=True)
                with conn.begin():
                    yield conn
            else:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def single(self) -> Iterator[Connection]:
        """One write statement, atomic by itself: autocommit on PostgreSQL, a short write
        transaction on SQLite (whose writers queue for the lock up front)."""
        if self.is_sqlite:
            with self.transaction() as conn:
                yield conn
        else:
            with self.engine.connect() as conn:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def dispose(self) -> None:
        self.engine.dispose()
