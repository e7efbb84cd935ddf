"""The SQLite parts: the check and the full login against a SQLite server with their bare
/healthz ceiling and profile (part `sqlite`), and the login with a negligible hash (part `nohash`)."""

from __future__ import annotations

import shutil
from typing import Any

import seed
from measurements import (
    Steps,
    anatomy,
    bracketed,
    measure_ceiling,
    measure_check,
    measure_login,
    warm_up,
)
from profiles import profiled
from servers import container_for, twostep_server
from settings import WORK, Plan, log


def run_sqlite(plan: Plan, steps: Steps, out: dict[str, Any]) -> None:
    name = "sqlite"
    shutil.rmtree(WORK / name, ignore_errors=True)
    c = container_for(name, database_url=None, redis_url=None)
    tenant = seed.prepare(c)
    secs = seed.seed(c, tenant, 0, plan.sqlite_users)
    log(f"sqlite: seeded {plan.sqlite_users} users in {secs:.1f}s")
    out["sqlite_seed_s"] = round(secs, 1)
    server = twostep_server(name, 8801, database_url=None, redis_url=None)
    server.start()
    try:
        out["ceiling_sqlite"] = measure_ceiling(
            "ceiling_sqlite", server, plan.ceiling_s, plan.ceiling_conns
        )
        n = plan.sqlite_users
        a, b = n // 6, n // 6 + n // 2  # logins 0..a-1, checks a..b-1, profile b..w-1, warm-up w..
        w = n - n // 15
        warm_up(c, server, steps, "sqlite-warm", list(range(w, n)), plan)
        out["check_sqlite"] = measure_check(
            "check_sqlite",
            c,
            server,
            steps,
            "sqlite-check",
            list(range(a, b)),
            plan.check_s,
            plan.check_conns,
        )
        out["login_sqlite"] = bracketed(
            lambda: measure_login(
                "login_sqlite",
                server,
                steps,
                "sqlite-login",
                list(range(a)),
                plan.login_s,
                plan.login_conns,
            )
        )
        out.setdefault("profiles", {})["check_sqlite"] = profiled(
            "check_sqlite",
            server,
            plan.profile_s,
            lambda mode: measure_check(
                f"profile_{mode}_check_sqlite",
                c,
                server,
                steps,
                f"sqlite-profile-{mode}",
                list(range(b, (b + w) // 2) if mode == "wall" else range((b + w) // 2, w)),
                plan.profile_s,
                plan.check_conns,
            ),
        )
    finally:
        server.stop()
    try:
        out["anatomy_sqlite"] = anatomy(c, tenant)
    finally:
        c.close()


# A hash that costs next to nothing, for the login run that isolates everything but the hash.
NEGLIGIBLE_HASH = {"argon2_memory_kib": 8, "argon2_time_cost": 1}


def run_nohash(plan: Plan, steps: Steps, out: dict[str, Any]) -> None:
    """The full-login run of the SQLite set-up with a negligible argon2id (m=8 KiB, t=1) for users
    and server alike: the CPU a login costs besides its hash when nothing hashes beside it. Set
    against the real login run, it shows how much more the rest of a login costs when it shares the
    cores with argon2id's hashing threads."""
    name = "nohash"
    shutil.rmtree(WORK / name, ignore_errors=True)
    c = container_for(name, database_url=None, redis_url=None, **NEGLIGIBLE_HASH)
    try:
        tenant = seed.prepare(c)
        n = plan.sqlite_users // 6
        seed.seed(c, tenant, 0, n)
        server = twostep_server(name, 8805, database_url=None, redis_url=None)
        for key, value in NEGLIGIBLE_HASH.items():  # or every login would rehash to the defaults
            server.env["TWOSTEP_" + key.upper()] = str(value)
        server.start()
        try:
            out["login_nohash"] = measure_login(
                "login_nohash", server, steps, "nohash", list(range(n)), plan.login_s, plan.login_conns
            )
        finally:
            server.stop()
    finally:
        c.close()
