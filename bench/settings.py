"""What a bench run is set to: where things are, the databases, the plan (user counts and run
lengths) and the command-line options the servers and parts read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
TOOLS_BIN = BENCH / ".venv-tools" / "bin"
PI_BIN = BENCH / ".venv-pi" / "bin"
LUA = BENCH / "wrk"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "twostep_bench"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_URL = "redis://127.0.0.1:6379/0"

# Set once by run.py from the command line; read as settings.FRESH_PI / settings.VARIANT at call
# time (a `from settings import` copy would keep the defaults).
FRESH_PI = False  # --fresh-pi: enrol privacyIDEA's users again even when a set-up exists
VARIANT = ""  # --variant: what-if worker set-ups from bench/variants/sitecustomize.py


def pg_url(db: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"


@dataclass(frozen=True)
class Plan:
    quick: bool
    argon2_s: int
    ceiling_s: int
    check_s: int
    login_s: int
    scale_s: int
    pi_s: int
    profile_s: int
    sqlite_users: int
    pg_small: int
    pg_large: int
    pi_users: int
    check_conns: int = 8  # the best of 4/8/16/32 in trial runs (the sweep repeats them)
    ceiling_conns: int = 32
    login_conns: int = 8  # 4 left the server below 2 cores (each connection alternates)
    pi_conns: int = 4


FULL = Plan(
    False,
    argon2_s=10,
    ceiling_s=10,
    check_s=15,
    login_s=15,
    scale_s=5,
    pi_s=15,
    profile_s=8,
    sqlite_users=30_000,
    pg_small=10_000,
    pg_large=1_000_000,
    pi_users=600,
)
QUICK = Plan(
    True,
    argon2_s=3,
    ceiling_s=3,
    check_s=4,
    login_s=4,
    scale_s=3,
    pi_s=4,
    profile_s=3,
    sqlite_users=4_000,
    pg_small=5_000,
    pg_large=40_000,
    pi_users=200,
)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)
