"""What-if variants of twostep's worker set-up, for `scripts/bench --variant NAME[,NAME]` only.

The bench puts this directory on the servers' PYTHONPATH, so it runs at interpreter start in the
`twostep serve` master and in each spawned worker, before twostep is imported. src/ is not
touched; a variant that pays off is a proposal.

    switch    sys.setswitchinterval(0.001): a thread whose argon2id hash (or database reply) is
              done waits at most ~1 ms, not 5 ms, for the GIL of a thread busy in Python
    hash2     two argon2id hashes at once per worker (TWOSTEP_HASH_CONCURRENCY=2)
    onethread one threadpool thread per worker (TWOSTEP_THREADS=1, not 40): threads of one
              worker no longer contend for the GIL, at the price of running its blocking calls
              (database, Redis, argon2id, deliveries) one at a time

It also holds the bench's one probe, on in every twostep server the bench starts (with or without a
variant): with BENCH_HASH_PROBE set to a directory, each process counts its argon2id verifications
and their thread CPU time (`time.thread_time`, the hashing thread alone) in `<dir>/<pid>`, so the
bench can tell how much of a login's server CPU is the hash itself, measured in the server under
load rather than in the bound's processes. The probe costs two clock reads and one `pwrite` per
verification (~20 ms each).
"""

import os
import sys

_variants = set(filter(None, os.environ.get("BENCH_VARIANT", "").split(",")))

if "switch" in _variants:
    sys.setswitchinterval(0.001)
if "hash2" in _variants:
    os.environ["TWOSTEP_HASH_CONCURRENCY"] = "2"
if "onethread" in _variants:
    os.environ["TWOSTEP_THREADS"] = "1"

_probe_dir = os.environ.get("BENCH_HASH_PROBE")
if _probe_dir:
    import threading as _threading
    import time as _time

    import argon2 as _argon2

    _lock = _threading.Lock()

    _verify = _argon2.PasswordHasher.verify
    _totals = [0, 0.0]  # verifications, thread CPU seconds
    _fd: list[int] = []

    def _probed_verify(self, hash, password):  # type: ignore[no-untyped-def]
        started = _time.thread_time()
        try:
            return _verify(self, hash, password)
        finally:
            spent = _time.thread_time() - started
            with _lock:
                _totals[0] += 1
                _totals[1] += spent
                if not _fd:
                    path = os.path.join(_probe_dir, str(os.getpid()))
                    _fd.append(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
                os.pwrite(_fd[0], f"{_totals[0]:>12} {_totals[1]:>20.6f}\n".encode(), 0)

    _argon2.PasswordHasher.verify = _probed_verify
