"""The kinds of run every part is made of: the argon2id bound, a second-step check run, a full
login run, the bare /healthz ceiling, a warm-up, and the TOTP steps and user sets they draw on."""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import time
from typing import Any

import seed
from load import wrk
from machine import machine_cpu
from servers import Server
from settings import PG_DB, Plan, log


# -- TOTP steps and user sets -------------------------------------------------------------------


class Steps:
    """A TOTP step succeeds once per user, so a population is reused only in a later step.
    Codes of step s are accepted during s and s+1 (drift 1): a run of <= 25 s started anywhere
    in s finishes while its codes are valid."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def take(self, population: str, duration: int) -> int:
        assert duration <= 25
        while True:
            now = time.time()
            step = int(now // 30)
            if step > self.last.get(population, -1):
                self.last[population] = step
                return step
            wait = (step + 1) * 30 - now + 0.05
            log(f"waiting {wait:.1f}s for the next TOTP step ({population})")
            time.sleep(wait)


def spread(lo: int, hi: int, k: int, phase: int = 0, phases: int = 1) -> list[int]:
    """k user numbers spread evenly over lo..hi-1 (so lookups touch the whole table). The set of
    phase p holds only numbers congruent to lo + p modulo `phases`, so sets of different phases are
    disjoint whatever their sizes (and may share a TOTP step)."""
    slots = (hi - lo) // phases
    k = min(k, slots)
    return [lo + phases * int(j * slots / k) + phase for j in range(k)]


# -- runs ---------------------------------------------------------------------------------------


def _argon2_worker(args: tuple[int, int, int, float]) -> tuple[int, list[float]]:
    from twostep.crypto import PasswordHasher

    m, t_cost, p, seconds = args
    ph = PasswordHasher(memory_kib=m, time_cost=t_cost, parallelism=p)
    stored = ph.hash(seed.PASSWORD)
    ph.verify(stored, seed.PASSWORD)
    n, times = 0, []
    end = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        assert ph.verify(stored, seed.PASSWORD)
        times.append(time.perf_counter() - t0)
        n += 1
    return n, times


def argon2_bound(seconds: int, quiet: bool = False) -> dict[str, Any]:
    from twostep.config import Config

    cfg = Config()
    params = (cfg.argon2_memory_kib, cfg.argon2_time_cost, cfg.argon2_parallelism)
    ncpu = os.cpu_count() or 1
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        _, single = pool.apply(_argon2_worker, ((*params, min(3.0, seconds)),))
    tot0, idle0 = machine_cpu()
    t0 = time.perf_counter()
    with ctx.Pool(ncpu) as pool:
        results = pool.map(_argon2_worker, [(*params, float(seconds))] * ncpu)
    wall = time.perf_counter() - t0
    tot1, idle1 = machine_cpu()
    count = sum(n for n, _ in results)
    res = {
        "params": {"memory_kib": params[0], "time_cost": params[1], "parallelism": params[2]},
        "processes": ncpu,
        "seconds": seconds,
        "verifications": count,
        "per_s": round(count / seconds, 1),
        "single_thread_median_ms": round(statistics.median(single) * 1000, 2),
        "machine_busy_cores": round((1 - (idle1 - idle0) / max(1, tot1 - tot0)) * ncpu, 2),
        "wall_s": round(wall, 2),
    }
    if not quiet:
        log(
            f"argon2id bound: {res['per_s']} verifications/s with {ncpu} processes "
            f"(single {res['single_thread_median_ms']} ms)"
        )
    return res


def measure_check(
    name: str,
    c,
    server: Server,
    steps: Steps,
    population: str,  # type: ignore[no-untyped-def]
    numbers: list[int],
    duration: int,
    conns: int,
    pg_db: str = PG_DB,
) -> dict[str, Any]:
    users = seed.users_by_number(c, numbers)
    minted = seed.mint(c, users)
    step = steps.take(population, duration)
    lines = [f"{tok} {seed.code(i, step)}" for i, tok in minted]
    return wrk(
        name,
        "check.lua",
        server.base,
        threads=1,
        conns=conns,
        duration=duration,
        lines=lines,
        server=server,
        pg_db=pg_db,
    )


def warm_up(
    c,
    server: Server,
    steps: Steps,
    population: str,
    numbers: list[int],
    plan: Plan,  # type: ignore[no-untyped-def]
    pg_db: str = PG_DB,
) -> None:
    """A short unrecorded check run: pools filled, caches and code paths warm."""
    measure_check(
        "warm_up_" + population,
        c,
        server,
        steps,
        population,
        numbers,
        2,
        plan.check_conns,
        pg_db=pg_db,
    )


def measure_login(
    name: str,
    server: Server,
    steps: Steps,
    population: str,
    numbers: list[int],
    duration: int,
    conns: int,
) -> dict[str, Any]:
    step = steps.take(population, duration)
    lines = [f"{seed.email(i)} {seed.code(i, step)}" for i in numbers]
    return wrk(
        name,
        "login.lua",
        server.base,
        threads=conns,
        conns=conns,
        duration=duration,
        lines=lines,
        server=server,
    )


def bracketed(run):  # type: ignore[no-untyped-def]
    """A run between two 5-s argon2id bound measurements: this VM's speed drifts (the bound
    ranged 66-111/s on quiet runs), so ratios are taken against the bound measured around the run."""
    before = argon2_bound(5, quiet=True)["per_s"]
    result = run()
    after = argon2_bound(5, quiet=True)["per_s"]
    result["argon2_bound_adjacent_per_s"] = round((before + after) / 2, 1)
    result["argon2_bound_before_after"] = [before, after]
    log(f"{result['name']}: argon2id bound around the run {before} / {after} per s")
    return result


def measure_ceiling(name: str, server: Server, duration: int, conns: int) -> dict[str, Any]:
    return wrk(
        name,
        "plain.lua",
        server.base + "/healthz",
        threads=1,
        conns=conns,
        duration=duration,
        server=server,
    )


def anatomy(c, tenant) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    import anatomy as an  # bench/anatomy.py

    res = an.measure(c, tenant)
    log(
        f"anatomy: login {res['login']}; check {res['check']}; service layer {res['service_layer_ms']}"
    )
    return res
