"""Password hashing: how many argon2id computations a process runs at once."""

from __future__ import annotations

import threading
import time

import pytest

from twostep.config import Config
from twostep.crypto import PasswordHasher


class _Spy:
    """Stands in for argon2's hasher and records how many calls overlap."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def _enter(self) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.03)
        with self.lock:
            self.active -= 1

    def verify(self, stored: str, password: str) -> bool:
        self._enter()
        return self.real.verify(stored, password)  # type: ignore[no-any-return]

    def hash(self, password: str) -> str:
        self._enter()
        return self.real.hash(password)  # type: ignore[no-any-return]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_no_more_hashes_at_once_than_the_limit(concurrency: int) -> None:
    hasher = PasswordHasher(memory_kib=64, time_cost=1, parallelism=1, concurrency=concurrency)
    stored = hasher.hash("correct horse")
    spy = _Spy(hasher._ph)
    hasher._ph = spy  # type: ignore[assignment]
    results: list[bool] = []

    def work(i: int) -> None:
        if i % 2:
            hasher.hash("x")
        else:
            results.append(hasher.verify(stored, "correct horse"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert spy.peak == concurrency
    assert results == [True] * 4


def test_a_failed_verification_gives_its_turn_back() -> None:
    hasher = PasswordHasher(memory_kib=64, time_cost=1, parallelism=1, concurrency=1)
    stored = hasher.hash("right")
    assert not hasher.verify(stored, "wrong")
    assert not hasher.verify("not-a-hash", "wrong")
    assert hasher.verify(stored, "right")  # would block forever if a turn had leaked


@pytest.mark.parametrize(
    ("workers", "explicit", "cores", "expected"),
    [(1, None, 2, 2), (2, None, 2, 1), (4, None, 2, 1), (2, None, 8, 4), (2, 5, 2, 5)],
)
def test_default_concurrency_shares_the_cores_among_workers(
    monkeypatch: pytest.MonkeyPatch, workers: int, explicit: int | None, cores: int, expected: int
) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(cores)))
    config = Config(workers=workers, hash_concurrency=explicit)
    assert config.resolved_hash_concurrency() == expected
