"""The benchmark suite (issue 7). Run through `scripts/bench` (which installs what it needs).

    scripts/bench            the full run (about 10 minutes on the 2-core machine)
    scripts/bench --quick    small user counts and short runs (a smoke test, ~4 minutes)

What it measures, in one go on this machine (client and servers share the same cores):
  1. argon2id verifications per second with all cores at the configured parameters (the bound);
  2. full logins per second (password + TOTP, distinct users, valid codes) against
     `twostep serve --workers 2`, on SQLite and on PostgreSQL + Redis, with p50/p99;
  3. second-step checks per second alone (valid codes, replay protection in force) next to the
     bare ceiling of the same server (GET /healthz);
  4. privacyIDEA 3.14 /validate/check (PIN + TOTP, the same argon2id parameters), the ratio;
  5. check latency with 10,000 and with 1,000,000 enrolled users in PostgreSQL;
  6. resident memory per worker under load.
Load comes from wrk (Lua scripts in bench/wrk/); wrk's own CPU time is reported with every run.
Writes bench/results/<timestamp>.json and latest.json, docs/benchmarks.png, prints the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import signal
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
CLK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

sys.path.insert(0, str(BENCH))
import seed  # noqa: E402  (bench/seed.py)


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
    check_conns: int = 16
    ceiling_conns: int = 32
    login_conns: int = 4
    pi_conns: int = 4


FULL = Plan(False, argon2_s=10, ceiling_s=10, check_s=15, login_s=15, scale_s=8, pi_s=15,
            profile_s=8, sqlite_users=30_000, pg_small=10_000, pg_large=1_000_000, pi_users=600)
QUICK = Plan(True, argon2_s=3, ceiling_s=3, check_s=4, login_s=4, scale_s=3, pi_s=4,
             profile_s=3, sqlite_users=4_000, pg_small=2_000, pg_large=20_000, pi_users=60)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- process and machine accounting -------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def proc_rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(x) for x in text]
    except FileNotFoundError:
        pass
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def machine_cpu() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts), idle


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine_info() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])

    def version(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except Exception:
            return "?"

    os_name = "?"
    if Path("/etc/os-release").exists():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": version(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]),
        "redis": version(["redis-server", "--version"]),
        "wrk": version(["wrk", "-v"]),
        "loadavg_at_start": loadavg(),
    }


# -- servers ------------------------------------------------------------------------------------


class Server:
    """A server started by the bench (its own process group); workers are its child processes."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], port: int, health: str,
                 cwd: Path | None = None) -> None:
        self.name, self.cmd, self.env, self.port, self.health = name, cmd, env, port, health
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        out = open(WORK / f"{self.name}.log", "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     cwd=self.cwd, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {WORK / (self.name + '.log')}")
            try:
                with urllib.request.urlopen(self.base + self.health, timeout=2) as r:
                    if r.status == 200 and len(self.workers()) >= 2:
                        time.sleep(1.0)
                        return
            except Exception:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not come up")

    def workers(self) -> list[int]:
        assert self.proc
        return [p for p in children(self.proc.pid) if "resource_tracker" not in cmdline(p)]

    def pids(self) -> list[int]:
        assert self.proc
        return [self.proc.pid, *self.workers()]

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this bench started
            self.proc.wait(10)


def twostep_server(name: str, port: int, *, database_url: str | None, redis_url: str | None) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWOSTEP_")}
    env["TWOSTEP_DATA_DIR"] = str(WORK / name / "data")
    if database_url:
        env["TWOSTEP_DATABASE_URL"] = database_url
    if redis_url:
        env["TWOSTEP_REDIS_URL"] = redis_url
    return Server(name, [str(VENV_BIN / "twostep"), "serve", "--workers", "2", "--port", str(port)],
                  env, port, "/healthz")


def container_for(name: str, *, database_url: str | None, redis_url: str | None):  # type: ignore[no-untyped-def]
    from twostep.bootstrap import build
    from twostep.config import Config

    kwargs: dict[str, Any] = {"data_dir": WORK / name / "data"}
    if database_url:
        kwargs["database_url"] = database_url
    if redis_url:
        kwargs["redis_url"] = redis_url
    for k in [k for k in os.environ if k.startswith("TWOSTEP_")]:
        del os.environ[k]
    return build(Config(**kwargs))


# -- time steps ---------------------------------------------------------------------------------


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


# -- wrk ------------------------------------------------------------------------------------


def wrk(name: str, script: str, url: str, *, threads: int, conns: int, duration: int,
        lines: list[str] | None = None, env: dict[str, str] | None = None,
        server: Server | None = None) -> dict[str, Any]:
    run_dir = WORK / "runs"
    run_dir.mkdir(parents=True, exist_ok=True)
    lines_path = run_dir / f"{name}.lines"
    out_path = run_dir / f"{name}.json"
    if lines is not None:
        lines_path.write_text("\n".join(lines) + "\n")
    out_path.unlink(missing_ok=True)
    wenv = {**os.environ, **(env or {}), "BENCH_LUA_DIR": str(LUA), "BENCH_THREADS": str(threads),
            "BENCH_OUT": str(out_path), "BENCH_PASSWORD": seed.PASSWORD}
    if lines is not None:
        wenv["BENCH_LINES"] = str(lines_path)
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "10s",
           "-s", str(LUA / script), url]
    pids = server.pids() if server else []
    srv_cpu0 = {p: proc_cpu_s(p) for p in pids}
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
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "client_cores": round((usage.ru_utime + usage.ru_stime) / wall, 2),
        "server_cores": round(srv_cpu / wall, 2),
        "machine_busy_cores": round((1 - (idle1 - idle0) / max(1, tot1 - tot0)) * ncpu, 2),
        "worker_rss_mib_max": [round(rss_max[p] / 1024, 1) for p in workers if p in rss_max],
        "master_rss_mib": round(rss_max.get(server.proc.pid, 0) / 1024, 1) if server and server.proc else None,
        "wrk_latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
    }
    if units:
        result["unit_latency_note"] = "p50/p99 of whole units (login + check), measured in Lua"
    log(f"{name}: {result['ok_per_s']}/s ok ({result['requests_per_s']} req/s), p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, status {result['status']}, wrk {result['client_cores']} cores, "
        f"server {result['server_cores']} cores, RSS/worker {result['worker_rss_mib_max']} MiB")
    if raw["threads_exhausted"]:
        log(f"WARNING {name}: wrk ran out of pre-generated users; the rate is a lower bound")
    return result


# -- profiling ----------------------------------------------------------------------------------


CATEGORIES = [
    ("argon2 (password hash)", ("argon2/",)),
    ("PostgreSQL driver (psycopg)", ("psycopg/",)),
    ("SQLite (sqlite3 calls)", ("sqlite3/", "pysqlite.py")),
    ("SQLAlchemy (all, incl. driver)", ("sqlalchemy/",)),
    ("SQLAlchemy SQL compilation", ("sql/compiler.py",)),
    ("connection pool checkout/return", ("sqlalchemy/pool/",)),
    ("JWT (PyJWT)", ("jwt/",)),
    ("AES-GCM / HMAC (cryptography)", ("cryptography/", "hmac.py")),
    ("TOTP (pyotp)", ("pyotp/",)),
    ("Redis client", ("redis/",)),
    ("audit records", ("services/audit.py",)),
    ("logging", ("logging/__init__.py",)),
    ("Prometheus metrics", ("prometheus_client/",)),
    ("FastAPI/Starlette (routing, deps, responses)", ("fastapi/", "starlette/")),
    ("uvicorn + httptools (HTTP)", ("uvicorn/",)),
    ("anyio threadpool hand-off", ("anyio/",)),
    ("pydantic", ("pydantic/", "pydantic_core")),
]


def py_spy(name: str, pids: list[int], seconds: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for p in pids:
        out = WORK / "profiles" / f"{name}.{p}.raw"
        out.parent.mkdir(parents=True, exist_ok=True)
        procs.append(subprocess.Popen(
            [str(TOOLS_BIN / "py-spy"), "record", "--pid", str(p), "--duration", str(seconds),
             "--rate", "100", "--format", "raw", "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def summarize_profile(name: str) -> dict[str, Any]:
    stacks: list[tuple[list[str], int]] = []
    for f in sorted((WORK / "profiles").glob(f"{name}.*.raw")):
        for line in f.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                stacks.append((stack.split(";"), int(n)))
    total = sum(n for _, n in stacks) or 1
    cats = {}
    for label, needles in CATEGORIES:
        hit = sum(n for frames, n in stacks if any(any(x in fr for x in needles) for fr in frames))
        cats[label] = round(100 * hit / total, 1)
    own: dict[str, int] = {}
    leaf: dict[str, int] = {}
    for frames, n in stacks:
        seen = set()
        for fr in frames:
            if "twostep/" in fr:
                key = fr.split(" (")[0] + " (" + fr.split("twostep/")[-1].split(":")[0] + ")"
                if key not in seen:
                    own[key] = own.get(key, 0) + n
                    seen.add(key)
        top = frames[-1]
        leaf[top] = leaf.get(top, 0) + n
    top_twostep = sorted(own.items(), key=lambda kv: -kv[1])[:15]
    top_leaf = sorted(leaf.items(), key=lambda kv: -kv[1])[:15]
    report = {
        "samples": total,
        "inclusive_pct_by_category": cats,
        "twostep_functions_inclusive_pct": {k: round(100 * v / total, 1) for k, v in top_twostep},
        "leaf_frames_pct": {k: round(100 * v / total, 1) for k, v in top_leaf},
    }
    (WORK / "profiles" / f"{name}.summary.json").write_text(json.dumps(report, indent=2))
    return report


def profiled(name: str, server: Server, seconds: int, run) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    spies = py_spy(name, server.workers(), seconds + 1)
    time.sleep(0.5)
    result = run()
    for s in spies:
        try:
            s.wait(30)
        except subprocess.TimeoutExpired:
            s.terminate()
    summary = summarize_profile(name)
    summary["load"] = {k: result[k] for k in ("ok_per_s", "p50_ms", "p99_ms")}
    log(f"profile {name}: {summary['inclusive_pct_by_category']}")
    return summary


# -- the measurements ---------------------------------------------------------------------------


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


def argon2_bound(seconds: int) -> dict[str, Any]:
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
    log(f"argon2id bound: {res['per_s']} verifications/s with {ncpu} processes "
        f"(single {res['single_thread_median_ms']} ms)")
    return res


def check_lines(c, numbers: list[int], step: int, users=None) -> list[str]:  # type: ignore[no-untyped-def]
    users = users if users is not None else seed.users_by_number(c, numbers)
    minted = seed.mint(c, users)
    return [f"{tok} {seed.code(i, step)}" for i, tok in minted]


def measure_check(name: str, c, server: Server, steps: Steps, population: str,  # type: ignore[no-untyped-def]
                  numbers: list[int], duration: int, conns: int) -> dict[str, Any]:
    users = seed.users_by_number(c, numbers)
    minted = seed.mint(c, users)
    step = steps.take(population, duration)
    lines = [f"{tok} {seed.code(i, step)}" for i, tok in minted]
    return wrk(name, "check.lua", server.base, threads=1, conns=conns, duration=duration,
               lines=lines, server=server)


def measure_login(name: str, server: Server, steps: Steps, population: str, numbers: list[int],
                  duration: int, conns: int) -> dict[str, Any]:
    step = steps.take(population, duration)
    lines = [f"{seed.email(i)} {seed.code(i, step)}" for i in numbers]
    return wrk(name, "login.lua", server.base, threads=conns, conns=conns, duration=duration,
               lines=lines, server=server)


def measure_ceiling(name: str, server: Server, duration: int, conns: int) -> dict[str, Any]:
    return wrk(name, "plain.lua", server.base + "/healthz", threads=1, conns=conns,
               duration=duration, server=server)


def pg_recreate() -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DB}"))
    eng.dispose()


def pg_size() -> str:
    from sqlalchemy import create_engine, text

    eng = create_engine(PG_URL)
    with eng.connect() as conn:
        size = conn.execute(text(f"SELECT pg_size_pretty(pg_database_size('{PG_DB}'))")).scalar()
    eng.dispose()
    return str(size)


def spread(total: int, k: int) -> list[int]:
    """k user numbers spread evenly over 0..total-1 (so lookups touch the whole table)."""
    k = min(k, total)
    return [int(j * total / k) for j in range(k)]


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
        out["ceiling_sqlite"] = measure_ceiling("ceiling_sqlite", server, plan.ceiling_s, plan.ceiling_conns)
        half = plan.sqlite_users // 2
        out["check_sqlite"] = measure_check("check_sqlite", c, server, steps, name,
                                            list(range(half, plan.sqlite_users)), plan.check_s,
                                            plan.check_conns)
        out["login_sqlite"] = measure_login("login_sqlite", server, steps, name, list(range(0, half)),
                                            plan.login_s, plan.login_conns)
        out.setdefault("profiles", {})["check_sqlite"] = profiled(
            "check_sqlite", server, plan.profile_s,
            lambda: measure_check("profile_check_sqlite", c, server, steps, name,
                                  list(range(half, plan.sqlite_users)), plan.profile_s, plan.check_conns))
    finally:
        server.stop()
        c.close()


def run_pg(plan: Plan, steps: Steps, out: dict[str, Any]) -> None:
    name = "pg"
    shutil.rmtree(WORK / name, ignore_errors=True)
    pg_recreate()
    c = container_for(name, database_url=PG_URL, redis_url=REDIS_URL)
    tenant = seed.prepare(c)
    secs = seed.seed(c, tenant, 0, plan.pg_small)
    log(f"pg: seeded {plan.pg_small} users in {secs:.1f}s")
    out["pg_seed_small_s"] = round(secs, 1)
    server = twostep_server(name, 8802, database_url=PG_URL, redis_url=REDIS_URL)
    server.start()
    try:
        out["ceiling_pg"] = measure_ceiling("ceiling_pg", server, plan.ceiling_s, plan.ceiling_conns)
        out["scale_small"] = measure_check("scale_small", c, server, steps, name,
                                           spread(plan.pg_small, plan.pg_small), plan.scale_s,
                                           plan.check_conns)
        out["scale_small"]["enrolled_users"] = plan.pg_small
        out["scale_small"]["db_size"] = pg_size()
        secs = seed.seed(c, tenant, plan.pg_small, plan.pg_large)
        log(f"pg: seeded up to {plan.pg_large} users in {secs:.1f}s")
        out["pg_seed_large_s"] = round(secs, 1)
        out["scale_large"] = measure_check("scale_large", c, server, steps, name,
                                           spread(plan.pg_large, plan.pg_small), plan.scale_s,
                                           plan.check_conns)
        out["scale_large"]["enrolled_users"] = plan.pg_large
        out["scale_large"]["db_size"] = pg_size()
        pool = spread(plan.pg_large, 40_000 if not plan.quick else 8_000)
        out["check_pg"] = measure_check("check_pg", c, server, steps, name, pool, plan.check_s,
                                        plan.check_conns)
        out["login_pg"] = measure_login("login_pg", server, steps, name, pool, plan.login_s,
                                        plan.login_conns)
        out.setdefault("profiles", {})["check_pg"] = profiled(
            "check_pg", server, plan.profile_s,
            lambda: measure_check("profile_check_pg", c, server, steps, name, pool,
                                  plan.profile_s, plan.check_conns))
        out["profiles"]["login_pg"] = profiled(
            "login_pg", server, plan.profile_s,
            lambda: measure_login("profile_login_pg", server, steps, name, pool, plan.profile_s,
                                  plan.login_conns))
    finally:
        server.stop()
        c.close()


def run_pi(plan: Plan, steps: Steps, out: dict[str, Any]) -> None:
    d = WORK / "pi"
    shutil.rmtree(d, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([str(PI_BIN / "python"), str(BENCH / "pi.py"), "setup", str(d)], check=True)
    env = {**os.environ, "PRIVACYIDEA_CONFIGFILE": str(d / "pi.cfg")}
    server = Server("pi", [str(PI_BIN / "gunicorn"), "-w", "2", "-b", "127.0.0.1:8803",
                           "--no-control-socket", "--chdir", str(d), "pi_wsgi:application"],
                    env, 8803, "/healthz/", cwd=d)
    server.start()
    try:
        subprocess.run([str(PI_BIN / "python"), str(BENCH / "pi.py"), "enrol", server.base,
                        str(plan.pi_users)], check=True)
        out["pi_setup_s"] = round(time.perf_counter() - t0, 1)
        log(f"privacyIDEA: set up with {plan.pi_users} TOTP users in {out['pi_setup_s']}s")
        step = steps.take("pi", plan.pi_s)
        import pyotp

        lines = [f"p{i:07d} 1234{pyotp.TOTP(seed.secret(i)).at(step * 30)}" for i in range(plan.pi_users)]
        out["pi"] = wrk("pi_check", "pi_check.lua", server.base, threads=plan.pi_conns,
                        conns=plan.pi_conns, duration=plan.pi_s, lines=lines, server=server)
    finally:
        server.stop()


# -- report -------------------------------------------------------------------------------------


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []

    def add(label: str, value: float | None, goal: str, ok: bool | None) -> None:
        rows.append({"target": label, "value": value, "goal": goal, "met": ok})

    bound = r.get("argon2", {}).get("per_s")
    for db in ("sqlite", "pg"):
        login = r.get(f"login_{db}")
        if login and bound:
            v = round(login["ok_per_s"] / bound, 2)
            add(f"full logins ({db}) / argon2id bound", v, ">= 0.8", v >= 0.8)
    pi = r.get("pi")
    for db in ("sqlite", "pg"):
        login = r.get(f"login_{db}")
        if login and pi and pi["ok_per_s"]:
            v = round(login["ok_per_s"] / pi["ok_per_s"], 2)
            add(f"full logins ({db}) / privacyIDEA PIN+TOTP checks", v, ">= 3", v >= 3)
    for db in ("sqlite", "pg"):
        chk, ceil = r.get(f"check_{db}"), r.get(f"ceiling_{db}")
        if chk and ceil:
            v = round(chk["ok_per_s"] / ceil["ok_per_s"], 3)
            add(f"checks ({db}) / bare /healthz ceiling", v, ">= 0.5", v >= 0.5)
    small, large = r.get("scale_small"), r.get("scale_large")
    if small and large:
        v = round(large["p50_ms"] / small["p50_ms"], 2)
        add("check p50 at 1M users / at 10k users", v, "<= 1.2", v <= 1.2)
        v99 = round(large["p99_ms"] / small["p99_ms"], 2)
        add("check p99 at 1M users / at 10k users (info)", v99, "<= 1.2", v99 <= 1.2)
    return rows


def table(r: dict[str, Any]) -> str:
    lines = []
    hdr = f"{'measurement':44} {'ok/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'wrk cores':>9} {'srv cores':>9} {'RSS/worker MiB':>16}"
    lines.append(hdr)
    lines.append("-" * len(hdr))
    a = r.get("argon2")
    if a:
        lines.append(f"{'argon2id verify, ' + str(a['processes']) + ' processes (the bound)':44} {a['per_s']:>9} "
                     f"{a['single_thread_median_ms']:>8} {'':>8} {'':>9} {a['machine_busy_cores']:>9}")
    labels = [
        ("login_sqlite", "full login, SQLite"),
        ("login_pg", "full login, PostgreSQL + Redis"),
        ("pi", "privacyIDEA /validate/check PIN+TOTP"),
        ("check_sqlite", "2FA check, SQLite"),
        ("ceiling_sqlite", "bare GET /healthz, SQLite setup"),
        ("check_pg", "2FA check, PostgreSQL + Redis"),
        ("ceiling_pg", "bare GET /healthz, PostgreSQL setup"),
        ("scale_small", "2FA check, PG, {n} users"),
        ("scale_large", "2FA check, PG, {n} users"),
    ]
    for key, label in labels:
        x = r.get(key)
        if not x:
            continue
        label = label.format(n=f"{x.get('enrolled_users', 0):,}")
        rss = "/".join(str(int(v)) for v in x["worker_rss_mib_max"])
        lines.append(f"{label:44} {x['ok_per_s']:>9} {x['p50_ms']:>8} {x['p99_ms']:>8} "
                     f"{x['client_cores']:>9} {x['server_cores']:>9} {rss:>16}")
    lines.append("")
    for t in r.get("targets", []):
        mark = "MET" if t["met"] else "MISSED"
        lines.append(f"{t['target']:52} {t['value']!s:>7}  (target {t['goal']})  {mark}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description="twostep benchmark suite")
    ap.add_argument("--quick", action="store_true", help="small user counts and short runs")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: argon2,sqlite,pg,pi")
    args = ap.parse_args()
    plan = QUICK if args.quick else FULL
    skip = {s for s in args.skip.split(",") if s}
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORK / "profiles", ignore_errors=True)
    shutil.rmtree(WORK / "runs", ignore_errors=True)
    started = dt.datetime.now(dt.timezone.utc)
    r: dict[str, Any] = {
        "started_utc": started.isoformat(timespec="seconds"),
        "mode": "quick" if plan.quick else "full",
        "command": "scripts/bench" + (" --quick" if plan.quick else "") + (f" --skip {args.skip}" if skip else ""),
        "plan": plan.__dict__,
        "machine": machine_info(),
    }
    log(f"{r['mode']} run; load average {r['machine']['loadavg_at_start']}")
    steps = Steps()
    parts = [("argon2", lambda: r.__setitem__("argon2", argon2_bound(plan.argon2_s))),
             ("sqlite", lambda: run_sqlite(plan, steps, r)),
             ("pi", lambda: run_pi(plan, steps, r)),
             ("pg", lambda: run_pg(plan, steps, r))]
    for part, fn in parts:
        if part in skip:
            continue
        r.setdefault("loadavg_before", {})[part] = loadavg()
        try:
            fn()
        except Exception as exc:  # keep the other parts; the failure is in the results
            log(f"{part} FAILED: {exc!r}")
            r.setdefault("failures", {})[part] = repr(exc)
    r["finished_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    r["loadavg_at_end"] = loadavg()
    r["targets"] = targets(r)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}{'-quick' if plan.quick else ''}.json"
    path.write_text(json.dumps(r, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(r, indent=2))
    chart = ROOT / "docs" / ("benchmarks.png" if not plan.quick else "benchmarks-quick.png")
    subprocess.run([str(TOOLS_BIN / "python"), str(BENCH / "chart.py"), str(path), str(chart)], check=False)
    print()
    print(table(r))
    print(f"\nresults: {path.relative_to(ROOT)} (and bench/results/latest.json); chart: {chart.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
