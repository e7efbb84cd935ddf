"""Engine creation and short transactions.

SQLite: WAL journal, a busy timeout, and `BEGIN IMMEDIATE` so that concurrent writers queue instead
of failing on a lock upgrade. PostgreSQL: READ COMMITTED; single-use and counters rely on
conditional UPDATEs whose row counts are checked, which hold at that level. At READ COMMITTED every
statement takes its own snapshot, so reads (and single-statement writes) run in autocommit: the same
visibility without a BEGIN and a COMMIT round trip each.
"""

from __future__ import annotations

import fcntl
import os
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
    # A pool event, on new connections only. (No engine-level listener: with one, SQLAlchemy joins
    # the engine's event dispatch into every Connection and consults it on every statement.)
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # autocommit; Database.transaction issues BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


class _WriterQueue:
    """SQLite has one writer at a time, and its busy handler makes the others poll with sleeps of
    up to 100 ms: unfair, so under load a writer in one worker process can wait for seconds while
    the other process keeps the lock. Writers queue here instead, in the kernel: a thread lock
    within the process and an exclusive `flock` on a file next to the database across processes;
    a waiting writer sleeps until the lock is released and is woken at once."""

    def __init__(self, database_path: str | None) -> None:
        self._threads = threading.RLock()
        self._depth = 0
        self._fd = (
            os.open(database_path + "-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
            if database_path
            else None
        )

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            self._depth += 1
            try:
                if self._depth == 1 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    if self._depth == 1 and self._fd is not None:
                        fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                self._depth -= 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        path = engine.url.database if self.is_sqlite else None
        self._writers = _WriterQueue(path if path and path != ":memory:" else None)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One short transaction: committed when the block ends, rolled back if it raises."""
        if self.is_sqlite:
            with self._writers.turn(), self.engine.connect() as conn, conn.begin():
                # The write lock up front, so writers queue instead of failing on a lock upgrade.
                # Straight to the driver (SQLAlchemy's begin is a no-op for it; its commit and
                # rollback end this transaction): through SQLAlchemy's execution this statement
                # cost ~0.07 ms of a check (docs/benchmarks.md).
                conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Reads, in autocommit on both databases: each statement sees its own snapshot (as at
        PostgreSQL's READ COMMITTED) and none takes SQLite's write lock; no BEGIN and COMMIT
        around them (two statements per read on SQLite, two round trips on PostgreSQL)."""
        with self.engine.connect() as conn:
            yield conn if self.is_sqlite else conn.execution_options(isolation_level="AUTOCOMMIT")

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
        self._writers.close()
