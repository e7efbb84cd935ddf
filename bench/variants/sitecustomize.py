"""What-if variants of twostep's worker set-up, for `scripts/bench --variant NAME[,NAME]` only.

The bench puts this directory on the servers' PYTHONPATH, so it runs at interpreter start in the
`twostep serve` master and in each spawned worker, before twostep is imported. src/ is not
touched; a variant that pays off is a proposal.

    switch    sys.setswitchinterval(0.001): a thread whose argon2id hash (or database reply) is
              done waits at most ~1 ms, not 5 ms, for the GIL of a thread busy in Python
    hash2     two argon2id hashes at once per worker (TWOSTEP_HASH_CONCURRENCY=2)
"""

import os
import sys

_variants = set(filter(None, os.environ.get("BENCH_VARIANT", "").split(",")))

if "switch" in _variants:
    sys.setswitchinterval(0.001)
if "hash2" in _variants:
    os.environ["TWOSTEP_HASH_CONCURRENCY"] = "2"
