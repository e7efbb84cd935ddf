"""Keys generated into the data directory: one key wins when many processes start at once."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

from twostep.keys import _read_or_create


def _race(path: str, barrier, out) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    out.put(_read_or_create(Path(path), 32))


def test_processes_starting_at_once_all_get_the_one_complete_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for attempt in range(10):
        path = tmp_path / str(attempt) / "master.key"
        barrier, out = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(str(path), barrier, out)) for _ in range(8)]
        for p in procs:
            p.start()
        keys = [out.get(timeout=30) for _ in procs]
        for p in procs:
            p.join()
        assert len(set(keys)) == 1 and len(keys[0]) == 32, attempt
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert os.listdir(path.parent) == ["master.key"]  # no staged files left behind
