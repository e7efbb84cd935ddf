"""py-spy profiles under load: samplers attached to the workers during extra load runs, and the
summary of where the samples went (by component, innermost frame first, and inclusive)."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from load import before_next_load
from servers import Server
from settings import TOOLS_BIN, WORK, log

# Where a sample's time goes, decided from the innermost frame outwards (first match wins), so the
# shares add up to 100 %. Samples are of non-idle threads (py-spy's default), wall-clock.
COMPONENTS = [
    ("argon2id (password hash, C)", ("argon2/",)),
    ("PostgreSQL client: psycopg (Python)", ("psycopg/",)),
    ("Redis client", ("redis/",)),
    ("JWT (PyJWT)", ("jwt/",)),
    ("AES-GCM, HMAC", ("cryptography/", "hmac.py", "hashlib")),
    ("TOTP (pyotp)", ("pyotp/",)),
    ("logging", ("logging/", "logging_setup.py")),
    ("Prometheus metrics", ("prometheus_client/",)),
    ("SQLAlchemy (Python)", ("sqlalchemy/",)),
    ("pydantic", ("pydantic",)),
    ("FastAPI / Starlette", ("fastapi/", "starlette/")),
    ("uvicorn (Python)", ("uvicorn/",)),
    ("anyio threadpool hand-off", ("anyio/",)),
    ("twostep's own code", ("twostep/",)),
    ("json", ("json/",)),
]
INCLUSIVE = [
    ("argon2id verify", ("argon2/",)),
    ("all SQLAlchemy + driver work", ("sqlalchemy/",)),
    (
        "opening/closing DB connections",
        ("<locals>._on_connect (", "DefaultDialect.do_close (", "DefaultDialect.connect ("),
    ),
    ("pool pre-ping", ("_do_ping_w_event (", "do_ping (")),
    ("BEGIN (IMMEDIATE) incl. lock wait", ("_on_begin",)),
    ("Redis limiter", ("redis_limiter.py",)),
    ("SQL limiter", ("sql_limiter.py",)),
    ("audit record", ("services/records/audit.py",)),
    ("JWT encode/decode", ("jwt/",)),
    ("issue_pair (session row + 2 JWTs)", ("issue_pair",)),
    ("platform settings parse", ("twofa_settings.py",)),
    ("token check (deps.py)", ("deps.py",)),
    ("context read (token's attempt, settings, user, configs)", ("_context (",)),
    ("waiting for an argon2id turn (semaphore)", ("Semaphore.acquire (",)),
]


def _classify(frames: list[str]) -> str:
    joined = ";".join(frames)
    leaf = frames[-1]
    if (
        "(queue.py" in joined
        or "(concurrent/futures/thread.py" in joined
        and "Condition.wait" in leaf
    ):
        return "idle threadpool worker"
    if leaf.startswith("Runner.run (") or leaf.startswith("run (uvicorn/server.py"):
        return "event loop in C (uvloop I/O, httptools)"
    if "Connection.wait (psycopg" in leaf:
        return "waiting for PostgreSQL's reply (incl. commit fsync)"
    if "_on_begin" in joined and "do_execute" in leaf:
        return "SQLite BEGIN IMMEDIATE (write-lock wait)"
    if (
        leaf.split(" (")[0]
        in (
            "DefaultDialect.do_execute",
            "DefaultDialect.do_commit",
            "DefaultDialect.connect",
            "DefaultDialect.do_close",
            "DefaultDialect.do_rollback",
        )
        or "<locals>._on_connect (" in leaf
    ):
        return "SQLite library (execute, commit, open, close)"
    if "Condition.wait (threading.py" in leaf:
        return "waiting on a lock/condition"
    for fr in reversed(frames):
        for label, needles in COMPONENTS:
            if any(n in fr for n in needles):
                return label
    return "other (stdlib)"


def py_spy(name: str, pids: list[int], seconds: int, mode: str) -> list[subprocess.Popen[bytes]]:
    """One sampler per worker: all non-idle threads (`wall`), or only the thread holding the GIL
    (`gil`: where the Python CPU goes). One mode per load run, so that the samplers do not
    starve each other on two cores."""
    procs = []
    for p in pids:
        for extra in ([] if mode == "wall" else ["--gil"],):
            out = WORK / "profiles" / mode / f"{name}.{p}.raw"
            out.parent.mkdir(parents=True, exist_ok=True)
            errlog = open(out.with_suffix(".log"), "wb")
            procs.append(
                subprocess.Popen(
                    [
                        str(TOOLS_BIN / "py-spy"),
                        "record",
                        "--pid",
                        str(p),
                        "--duration",
                        str(seconds),
                        "--rate",
                        "100",
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                        "--nonblocking",
                        *extra,
                    ],
                    stdout=errlog,
                    stderr=subprocess.STDOUT,
                )
            )
    return procs


def summarize_profile(name: str, mode: str) -> dict[str, Any]:
    stacks: list[tuple[list[str], int]] = []
    for f in sorted((WORK / "profiles" / mode).glob(f"{name}.*.raw")):
        for line in f.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                stacks.append((stack.split(";"), int(n)))
    exclusive: dict[str, int] = {}
    for frames, n in stacks:
        label = _classify(frames)
        exclusive[label] = exclusive.get(label, 0) + n
    idle = exclusive.get("idle threadpool worker", 0)
    busy = max(1, sum(exclusive.values()) - idle)
    work = [(f, n) for f, n in stacks if _classify(f) != "idle threadpool worker"]
    inclusive = {}
    for label, needles in INCLUSIVE:
        hit = sum(n for frames, n in work if any(any(x in fr for x in needles) for fr in frames))
        inclusive[label] = round(100 * hit / busy, 1)
    own: dict[str, int] = {}
    for frames, n in work:
        seen = set()
        for fr in frames:
            if "twostep/" in fr:
                key = fr.split(" (")[0] + " (" + fr.split("twostep/")[-1].split(":")[0] + ")"
                if key not in seen:
                    own[key] = own.get(key, 0) + n
                    seen.add(key)
    report = {
        "samples_busy": busy,
        "samples_idle_threadpool": idle,
        "exclusive_pct": {
            k: round(100 * v / busy, 1)
            for k, v in sorted(exclusive.items(), key=lambda kv: -kv[1])
            if k != "idle threadpool worker"
        },
        "inclusive_pct": inclusive,
        "twostep_functions_inclusive_pct": {
            k: round(100 * v / busy, 1) for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:15]
        },
    }
    (WORK / "profiles" / f"{name}.{mode}.summary.json").write_text(json.dumps(report, indent=2))
    return report


def profiled(name: str, server: Server, seconds: int, run) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two load runs under py-spy, `run("wall")` and `run("gil")` (each on its own users)."""
    summary: dict[str, Any] = {}
    for mode in ("wall", "gil"):
        spies: list[subprocess.Popen[bytes]] = []

        def start(mode: str = mode) -> None:
            # Started by wrk() just before the load: minting tokens for 40,000 users takes
            # longer than a profile lasts.
            spies.extend(py_spy(name, server.workers(), seconds + 1, mode))
            time.sleep(0.5)

        before_next_load(start)
        result = run(mode)
        for s in spies:
            try:
                s.wait(30)
            except subprocess.TimeoutExpired:
                s.terminate()
        summary[mode] = summarize_profile(name, mode)
        summary[mode]["load"] = {
            k: result[k] for k in ("ok_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_ok")
        }
        log(
            f"profile {name} ({mode}, {summary[mode]['samples_busy']} samples): {summary[mode]['exclusive_pct']}"
        )
    summary["load"] = summary["wall"]["load"]
    return summary
