"""SQLite write transactions queue on a lock (threads) and a file lock (processes)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from twostep.storage.db import Database, make_engine


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(make_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    with database.transaction() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield database
    database.dispose()


def _held_elsewhere(lock_file: Path) -> bool:
    """Whether another open file description can take the lock now (as another process would)."""
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_file_lock_until_it_ends(db: Database, tmp_path: Path) -> None:
    lock_file = tmp_path / "w.db-writers.lock"
    assert not _held_elsewhere(lock_file)
    with db.transaction() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _held_elsewhere(lock_file)
    assert not _held_elsewhere(lock_file)
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("rolled back")
    assert not _held_elsewhere(lock_file)  # released on the error path too
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1


def test_reads_do_not_queue_behind_a_writer(db: Database, tmp_path: Path) -> None:
    with db.transaction() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        with db.read() as reader:  # WAL: a snapshot without the writer's turn
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_threads_take_turns(db: Database) -> None:
    inside = 0
    overlap = []

    def write() -> None:
        nonlocal inside
        with db.transaction() as conn:
            inside += 1
            overlap.append(inside)
            conn.execute(text("INSERT INTO t VALUES (1)"))
            time.sleep(0.01)
            inside -= 1

    threads = [threading.Thread(target=write) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert max(overlap) == 1
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 8
