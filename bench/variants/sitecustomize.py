"""What-if variants of twostep's engine set-up, for `scripts/bench --variant NAME` only.

The bench puts this directory on the servers' PYTHONPATH, so it runs at interpreter start in the
`twostep serve` master and in each spawned worker, before twostep is imported, and swaps
`twostep.storage.db.make_engine`. src/ is not touched; a variant that pays off is a proposal.

    pool      PostgreSQL: pool_size 40 (the threadpool's 40 threads), no pre-ping;
              SQLite: a QueuePool of 40 instead of a new connection (and 4 PRAGMAs) per transaction
"""

import os

_variant = os.environ.get("BENCH_VARIANT", "")

if _variant:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import QueuePool

    import twostep.storage.db as _db

    _original = _db.make_engine

    def make_engine(url: str):  # type: ignore[no-untyped-def]
        if _variant == "pool":
            if url.startswith("sqlite") and ":memory:" not in url:
                engine = create_engine(
                    url,
                    connect_args={"check_same_thread": False, "timeout": 30},
                    poolclass=QueuePool,
                    pool_size=40,
                    max_overflow=0,
                )
                _db._configure_sqlite(engine)
                return engine
            if not url.startswith("sqlite"):
                return create_engine(
                    url, pool_size=40, max_overflow=0, pool_pre_ping=False, pool_recycle=1800
                )
        return _original(url)

    _db.make_engine = make_engine
