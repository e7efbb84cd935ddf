"""One load run: wrk with a Lua script from bench/wrk/ against a server, and what the run cost
(CPU of the server, its PostgreSQL backends, Redis and wrk; the machine's busy cores; resident
memory per worker; argon2id time inside the server), with the rate and the latencies."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import seed
from machine import machine_cpu, pg_sessions, pids_matching, proc_cpu_s, proc_rss_kib
from servers import Server, hash_totals
from settings import LUA, PG_DB, WORK, log

BEFORE_LOAD: Callable[[], None] | None = None  # called by the next wrk() right before its load


def before_next_load(hook: Callable[[], None]) -> None:
    """A profiler attaches to the load itself, not to the seeding and minting before it."""
    global BEFORE_LOAD
    BEFORE_LOAD = hook


def wrk(
    name: str,
    script: str,
    url: str,
    *,
    threads: int,
    conns: int,
    duration: int,
    lines: list[str] | None = None,
    env: dict[str, str] | None = None,
    server: Server | None = None,
    pg_db: str = PG_DB,
) -> dict[str, Any]:
    run_dir = WORK / "runs"
    run_dir.mkdir(parents=True, exist_ok=True)
    lines_path = run_dir / f"{name}.lines"
    out_path = run_dir / f"{name}.json"
    if lines is not None:
        lines_path.write_text("\n".join(lines) + "\n")
    out_path.unlink(missing_ok=True)
    wenv = {
        **os.environ,
        **(env or {}),
        "BENCH_LUA_DIR": str(LUA),
        "BENCH_THREADS": str(threads),
        "BENCH_OUT": str(out_path),
        "BENCH_PASSWORD": seed.PASSWORD,
    }
    if lines is not None:
        wenv["BENCH_LINES"] = str(lines_path)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{conns}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        url,
    ]
    global BEFORE_LOAD
    if BEFORE_LOAD is not None:  # a profiler waiting for the load itself (not the seeding before)
        hook, BEFORE_LOAD = BEFORE_LOAD, None
        hook()
    pids = server.pids() if server else []
    hashes0 = hash_totals(server)
    srv_cpu0 = {p: proc_cpu_s(p) for p in pids}
    pg0 = {p: proc_cpu_s(p) for p in pids_matching(f"postgres {pg_db} ")}
    sessions0 = pg_sessions(pg_db) if pg0 else None
    redis0 = {p: proc_cpu_s(p) for p in pids_matching("redis-server")}
    rss_max = {p: 0 for p in pids}
    rss_samples: dict[int, list[int]] = {p: [] for p in pids}
    tot0, idle0 = machine_cpu()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            for p in pids:
                r = proc_rss_kib(p)
                rss_samples[p].append(r)
                rss_max[p] = max(rss_max[p], r)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    with open(run_dir / f"{name}.wrk.txt", "w") as out:
        proc = subprocess.Popen(cmd, env=wenv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    tot1, idle1 = machine_cpu()
    srv_cpu = sum(proc_cpu_s(p) - srv_cpu0[p] for p in pids)
    pg_cpu = sum(proc_cpu_s(p) - pg0.get(p, 0.0) for p in pids_matching(f"postgres {pg_db} "))
    redis_cpu = sum(proc_cpu_s(p) - redis0.get(p, 0.0) for p in redis0)
    if sessions0 is not None:
        time.sleep(1.0)  # statistics are flushed by the backends within about a second
        sessions1 = pg_sessions(pg_db)
        new_sessions = (sessions1 - sessions0) if sessions1 is not None else None
    else:
        new_sessions = None
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"wrk failed for {name}: see {run_dir / (name + '.wrk.txt')}")
    raw = json.loads(out_path.read_text())
    secs = raw["duration_us"] / 1e6
    units = raw.pop("unit_latencies_us")
    if units:
        q = statistics.quantiles(units, n=100) if len(units) > 1 else [units[0]] * 99
        p50, p99 = q[49] / 1000, q[98] / 1000
    else:
        p50, p99 = raw["latency_us"]["p50"] / 1000, raw["latency_us"]["p99"] / 1000
    ncpu = os.cpu_count() or 1
    workers = server.workers() if server else []
    result = {
        "name": name,
        "cmd": " ".join(cmd),
        "duration_s": round(secs, 2),
        "requests": raw["requests"],
        "ok": raw["ok"],
        "ok_per_s": round(raw["ok"] / secs, 1),
        "requests_per_s": round(raw["requests"] / secs, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "status": raw["status"],
        "errors": raw["errors"],
        "threads_exhausted": raw["threads_exhausted"],
        "first_errors": raw.get("first_errors", []),
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "client_cores": round((usage.ru_utime + usage.ru_stime) / wall, 2),
        "server_cores": round(srv_cpu / wall, 2),
        "pg_backend_cores": round(pg_cpu / wall, 2),
        "redis_cores": round(redis_cpu / wall, 2),
        "pg_connections_opened": new_sessions,
        "machine_busy_cores": round((1 - (idle1 - idle0) / max(1, tot1 - tot0)) * ncpu, 2),
        "worker_rss_mib_max": [round(rss_max[p] / 1024, 1) for p in workers if p in rss_max],
        "master_rss_mib": round(rss_max.get(server.proc.pid, 0) / 1024, 1)
        if server and server.proc
        else None,
        "wrk_latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
    }
    ok = max(1, raw["ok"])
    hashes1 = hash_totals(server)
    if hashes1[0] > hashes0[0]:
        n = hashes1[0] - hashes0[0]
        result["argon2_in_server"] = {
            "verifications": n,
            "thread_cpu_ms_per_verify": round((hashes1[1] - hashes0[1]) * 1000 / n, 2),
            "cpu_ms_per_ok": round((hashes1[1] - hashes0[1]) * 1000 / ok, 2),
        }
    result["server_cpu_ms_per_ok"] = round(srv_cpu * 1000 / ok, 2)
    result["pg_cpu_ms_per_ok"] = round(pg_cpu * 1000 / ok, 2)
    result["redis_cpu_ms_per_ok"] = round(redis_cpu * 1000 / ok, 3)
    result["client_cpu_ms_per_ok"] = round((usage.ru_utime + usage.ru_stime) * 1000 / ok, 3)
    if units:
        result["unit_latency_note"] = "p50/p99 of whole units (login + check), measured in Lua"
    log(
        f"{name}: {result['ok_per_s']}/s ok ({result['requests_per_s']} req/s), p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, status {result['status']}, wrk {result['client_cores']} cores, "
        f"server {result['server_cores']} cores ({result['server_cpu_ms_per_ok']} ms/ok), "
        f"PG {result['pg_backend_cores']} (new conns {new_sessions}), machine {result['machine_busy_cores']}, RSS/worker {result['worker_rss_mib_max']} MiB"
    )
    if raw.get("first_errors"):
        log(f"{name}: first unexpected responses: {raw['first_errors'][:2]}")
    if raw["threads_exhausted"]:
        log(f"WARNING {name}: wrk ran out of pre-generated users; the rate is a lower bound")
    return result
