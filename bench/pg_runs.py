"""The PostgreSQL + Redis part (`pg`): the check and the full login on 1,000,000 users (the quick
plan: fewer) with their ceiling and profiles, the scale comparison against 10,000 users, and the
connection sweeps of the full plan."""

from __future__ import annotations

import shutil
import statistics
from typing import Any

import seed
from measurements import (
    Steps,
    anatomy,
    bracketed,
    measure_ceiling,
    measure_check,
    measure_login,
    spread,
    warm_up,
)
from profiles import profiled
from servers import container_for, pg_recreate, pg_size, twostep_server
from settings import PG_DB, PG_URL, REDIS_URL, WORK, Plan, log, pg_url


PHASES = 16  # disjoint user sets over the 1M: scale rounds, check, login, profiles, sweeps
SCALE_ROUNDS = 3
SMALL_DB = PG_DB + "_small"


def run_pg(plan: Plan, steps: Steps, out: dict[str, Any]) -> None:
    """Two databases and two servers: 10,000 users (for the scale comparison only) and
    1,000,000 users (the scale comparison and every other PostgreSQL run). The scale runs
    alternate between the two servers, SCALE_ROUNDS times each, so that drifting load on the
    machine hits both alike; the run with the median p50 represents each size."""
    for name in ("pg", "pg_small"):
        shutil.rmtree(WORK / name, ignore_errors=True)
    pg_recreate(PG_DB)
    pg_recreate(SMALL_DB)
    cs = container_for("pg_small", database_url=pg_url(SMALL_DB), redis_url=REDIS_URL)
    ts = seed.prepare(cs)
    secs = seed.seed(cs, ts, 0, plan.pg_small)
    log(f"pg: seeded {plan.pg_small} users in {secs:.1f}s ({SMALL_DB})")
    out["pg_seed_small_s"] = round(secs, 1)
    c = container_for("pg", database_url=PG_URL, redis_url=REDIS_URL)
    tenant = seed.prepare(c)
    secs = seed.seed(c, tenant, 0, plan.pg_large)
    log(f"pg: seeded {plan.pg_large} users in {secs:.1f}s ({PG_DB})")
    out["pg_seed_large_s"] = round(secs, 1)
    small = twostep_server("pg_small", 8805, database_url=pg_url(SMALL_DB), redis_url=REDIS_URL)
    server = twostep_server("pg", 8802, database_url=PG_URL, redis_url=REDIS_URL)
    small.start()
    server.start()
    lo, hi = 0, plan.pg_large
    k = 40_000 if not plan.quick else 3_000
    try:
        out["ceiling_pg"] = measure_ceiling(
            "ceiling_pg", server, plan.ceiling_s, plan.ceiling_conns
        )
        nsets = SCALE_ROUNDS + 1  # residue SCALE_ROUNDS of the small users warms up
        per = plan.pg_small // nsets
        warm_up(
            cs,
            small,
            steps,
            "small-warm",
            spread(0, plan.pg_small, per, SCALE_ROUNDS, nsets),
            plan,
            pg_db=SMALL_DB,
        )
        warm_up(c, server, steps, "large-warm", spread(lo, hi, per, 15, PHASES), plan)
        rounds: dict[str, list[dict[str, Any]]] = {"small": [], "large": []}
        for r in range(SCALE_ROUNDS):
            order = ("small", "large") if r % 2 == 0 else ("large", "small")
            for which in order:
                if which == "small":
                    rounds["small"].append(
                        measure_check(
                            f"scale_small_{r}",
                            cs,
                            small,
                            steps,
                            f"small-{r}",
                            spread(0, plan.pg_small, per, r, nsets),
                            plan.scale_s,
                            plan.check_conns,
                            pg_db=SMALL_DB,
                        )
                    )
                else:
                    rounds["large"].append(
                        measure_check(
                            f"scale_large_{r}",
                            c,
                            server,
                            steps,
                            f"large-{r}",
                            spread(lo, hi, per, (0, 12, 13)[r], PHASES),
                            plan.scale_s,
                            plan.check_conns,
                        )
                    )
        for which, n, db in (("small", plan.pg_small, SMALL_DB), ("large", plan.pg_large, PG_DB)):
            runs = sorted(rounds[which], key=lambda x: x["p50_ms"])
            rep = dict(runs[len(runs) // 2])
            rep["enrolled_users"] = n
            rep["db_size"] = pg_size(db)
            rep["rounds"] = [
                {k2: x[k2] for k2 in ("name", "ok_per_s", "p50_ms", "p99_ms", "machine_busy_cores")}
                for x in rounds[which]
            ]
            rep["p99_ms_median"] = statistics.median(x["p99_ms"] for x in rounds[which])
            out[f"scale_{which}"] = rep
        small.stop()
        out["check_pg"] = measure_check(
            "check_pg",
            c,
            server,
            steps,
            "pg-1",
            spread(lo, hi, k, 1, PHASES),
            plan.check_s,
            plan.check_conns,
        )
        out["login_pg"] = bracketed(
            lambda: measure_login(
                "login_pg",
                server,
                steps,
                "pg-2",
                spread(lo, hi, k, 2, PHASES),
                plan.login_s,
                plan.login_conns,
            )
        )
        out.setdefault("profiles", {})["check_pg"] = profiled(
            "check_pg",
            server,
            plan.profile_s,
            lambda mode: measure_check(
                f"profile_{mode}_check_pg",
                c,
                server,
                steps,
                f"pg-3{mode}",
                spread(lo, hi, k, 3 if mode == "wall" else 11, PHASES),
                plan.profile_s,
                plan.check_conns,
            ),
        )
        out["profiles"]["login_pg"] = profiled(
            "login_pg",
            server,
            plan.profile_s,
            lambda mode: measure_login(
                f"profile_{mode}_login_pg",
                server,
                steps,
                f"pg-4{mode}",
                spread(lo, hi, k, 4 if mode == "wall" else 14, PHASES),
                plan.profile_s,
                plan.login_conns,
            ),
        )
        if not plan.quick:  # how the rates depend on the number of connections
            out["check_pg_sweep"] = {}
            for n, conns in enumerate((4, 16, 32), start=5):
                out["check_pg_sweep"][str(conns)] = measure_check(
                    f"check_pg_c{conns}",
                    c,
                    server,
                    steps,
                    f"pg-{n}",
                    spread(lo, hi, k, n, PHASES),
                    plan.scale_s,
                    conns,
                )
            out["login_pg_sweep"] = {}
            for n, conns in enumerate((2, 4, 16), start=8):
                out["login_pg_sweep"][str(conns)] = measure_login(
                    f"login_pg_c{conns}",
                    server,
                    steps,
                    f"pg-{n}",
                    spread(lo, hi, k, n, PHASES),
                    plan.scale_s,
                    conns,
                )
    finally:
        small.stop()
        server.stop()
        cs.close()
    try:
        out["anatomy_pg"] = anatomy(c, tenant)
    finally:
        c.close()
