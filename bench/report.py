"""Markdown tables from a results JSON, for docs/benchmarks.md.

.venv/bin/python bench/report.py [bench/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

ROWS = [
    ("login_sqlite", "Full login (password + TOTP), SQLite"),
    ("login_pg", "Full login (password + TOTP), PostgreSQL + Redis"),
    ("login_nohash", "Full login, SQLite, negligible hash (m=8 KiB, t=1): the rest of a login alone"),
    ("pi", "privacyIDEA 3.14 `/validate/check` (PIN + TOTP), SQLite"),
    ("check_sqlite", "2FA check alone, SQLite"),
    ("ceiling_sqlite", "bare `GET /healthz`, same SQLite server"),
    ("check_pg", "2FA check alone, PostgreSQL + Redis"),
    ("ceiling_pg", "bare `GET /healthz`, same PostgreSQL server"),
    ("scale_small", "2FA check, PostgreSQL, {n} enrolled users"),
    ("scale_large", "2FA check, PostgreSQL, {n} enrolled users"),
]


def conns(run: dict[str, Any]) -> str:
    cmd = run.get("cmd", "")
    return next((p for p in cmd.split() if p.startswith("-c")), "")


def results_table(r: dict[str, Any]) -> str:
    out = [
        "| Measurement | wrk | ok/s | p50 ms | p99 ms | wrk CPU (cores) | twostep CPU (cores) | "
        "PG backends (cores) | machine busy (cores) | server CPU ms per ok | RSS per worker, max (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    a = r.get("argon2")
    if a:
        out.append(
            f"| argon2id verify, m={a['params']['memory_kib']} t={a['params']['time_cost']} "
            f"p={a['params']['parallelism']}, {a['processes']} processes: **the bound** | – | "
            f"**{a['per_s']}** | {a['single_thread_median_ms']} (1 verify) | – | – | – | – | "
            f"{a['machine_busy_cores']} | – | – |"
        )
    for key, label in ROWS:
        x = r.get(key)
        if not x:
            continue
        label = label.format(n=f"{x.get('enrolled_users', 0):,}")
        rss = " / ".join(f"{v:.0f}" for v in x["worker_rss_mib_max"])
        out.append(
            f"| {label} | {conns(x)} | **{x['ok_per_s']}** | {x['p50_ms']} | {x['p99_ms']} | "
            f"{x['client_cores']} | {x['server_cores']} | {x['pg_backend_cores']} | "
            f"{x['machine_busy_cores']} | {x['server_cpu_ms_per_ok']} | {rss} |"
        )
    return "\n".join(out)


def targets_table(r: dict[str, Any]) -> str:
    out = ["| Target | Measured | Goal | |", "|---|---:|---|---|"]
    for t in r.get("targets", []):
        out.append(
            f"| {t['target']} | {t['value']} | {t['goal']} | {'(not a target)' if t['met'] is None else ('met' if t['met'] else '**missed**')} |"
        )
    return "\n".join(out)


def machine_cpu_ms_per_ok(run: dict[str, Any]) -> float:
    """The machine CPU one success cost in a run: server, PostgreSQL backends, Redis and wrk."""
    return (
        run["server_cpu_ms_per_ok"]
        + run["pg_cpu_ms_per_ok"]
        + run.get("redis_cpu_ms_per_ok", 0.0)
        + run.get("client_cpu_ms_per_ok", 0.0)
    )


CPU_ROWS = [
    ("login_sqlite", "full login, SQLite"),
    ("login_pg", "full login, PostgreSQL + Redis"),
    ("login_nohash", "full login, SQLite, negligible hash (m=8 KiB, t=1)"),
    ("check_sqlite", "check alone, SQLite"),
    ("check_pg", "check alone, PostgreSQL + Redis"),
    ("ceiling_sqlite", "bare /healthz, SQLite server"),
    ("ceiling_pg", "bare /healthz, PostgreSQL server"),
]


def cpu_table(r: dict[str, Any]) -> str:
    """Where the machine's CPU went per success: the numbers behind the two ceilings."""
    out = [
        "| Run | twostep workers ms | of it argon2id (in the server) ms | of it the rest ms | "
        "PG backends ms | Redis ms | wrk ms | machine ms per success |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in CPU_ROWS:
        x = r.get(key)
        if not x or "client_cpu_ms_per_ok" not in x:
            continue
        hashed = x.get("argon2_in_server", {}).get("cpu_ms_per_ok", 0.0)
        out.append(
            f"| {label} | {x['server_cpu_ms_per_ok']} | {hashed or '–'} | "
            f"{round(x['server_cpu_ms_per_ok'] - hashed, 2)} | {x['pg_cpu_ms_per_ok']} | "
            f"{x['redis_cpu_ms_per_ok']} | {x['client_cpu_ms_per_ok']} | {round(machine_cpu_ms_per_ok(x), 2)} |"
        )
    return "\n".join(out)


HANDOFF_ROWS = [
    ("/async", "0", "async endpoint, nothing else (like `/healthz`)"),
    ("/sync", "1", "plain `def` endpoint"),
    ("/sync-3sync", "4", "`def` endpoint + 3 `def` dependencies"),
    ("/sync-3async", "1", "`def` endpoint + 3 `async def` dependencies"),
    ("/floor-sqlite", "1", "storage floor of a check, SQLite: 1 read + 1 write transaction (UPDATE, INSERT)"),
    ("/floor-pg", "1", "storage floor of a check, PostgreSQL + Redis: the same + 1 Redis call"),
]


def handoff_table(r: dict[str, Any]) -> str:
    """bench/handoff_app.py: the framework's hand-offs, and the storage floor of a check."""
    out = [
        "| Endpoint | what it does | hand-offs | wrk | ok/s | p50 ms | server CPU ms | PG backends ms | "
        "Redis ms | machine ms per request |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for path, hops, what in HANDOFF_ROWS:
        x = r.get("handoff", {}).get(path)
        if not x:
            continue
        out.append(
            f"| `{path}` | {what} | {hops} | {conns(x)} | {x['ok_per_s']} | {x['p50_ms']} | "
            f"{x['server_cpu_ms_per_ok']} | {x['pg_cpu_ms_per_ok']} | "
            f"{x.get('redis_cpu_ms_per_ok', 0.0)} | {round(machine_cpu_ms_per_ok(x), 3)} |"
        )
    return "\n".join(out)


def sweep_table(r: dict[str, Any]) -> str:
    out = [
        "| Run | wrk connections | ok/s | p50 ms | p99 ms | twostep CPU ms per ok | PG connections opened |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, base in (("check_pg", "check_pg_sweep"), ("login_pg", "login_pg_sweep")):
        runs = dict(r.get(base, {}))
        if key in r:
            runs[conns(r[key])[2:]] = r[key]
        for c in sorted(runs, key=int):
            x = runs[c]
            out.append(
                f"| {key} | {c} | {x['ok_per_s']} | {x['p50_ms']} | {x['p99_ms']} | "
                f"{x['server_cpu_ms_per_ok']} | {x.get('pg_connections_opened')} |"
            )
    return "\n".join(out)


def scale_table(r: dict[str, Any]) -> str:
    out = [
        "| Enrolled users | DB size | run | ok/s | p50 ms | p99 ms | machine busy (cores) |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for key in ("scale_small", "scale_large"):
        x = r.get(key)
        if not x:
            continue
        for run in x.get("rounds", [x]):
            out.append(
                f"| {x['enrolled_users']:,} | {x.get('db_size', '')} | {run['name']} | {run['ok_per_s']} | "
                f"{run['p50_ms']} | {run['p99_ms']} | {run['machine_busy_cores']} |"
            )
    return "\n".join(out)


def anatomy_table(r: dict[str, Any]) -> str:
    out = [
        "| In process, one request at a time | SQL statements | transactions (commits) | pool checkouts | "
        "new DB connections | ms in driver execute | ms total (TestClient) | ms total, service layer only |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for db in ("sqlite", "pg"):
        a = r.get(f"anatomy_{db}")
        if not a:
            continue
        for kind in ("login", "check"):
            x = a[kind]
            svc = a.get("service_layer_ms", {}).get(f"{kind}_ms", "")
            out.append(
                f"| {kind}, {db} | {x['sql_statements']} | {x['commits']} | {x['pool_checkouts']} | "
                f"{x['new_db_connections']} | {x['ms_in_driver_execute']} | "
                f"{x.get('ms_total_via_testclient', x.get('ms_total'))} | {svc} |"
            )
        out.append(
            f"| argon2id verify alone, {db} | | | | | | | {a.get('service_layer_ms', {}).get('argon2_verify_ms', '')} |"
        )
        out.append(
            f"| one `SELECT 1` read transaction, {db} | 1 | 1 | 1 | | | | "
            f"{a['one_select1_read_transaction_ms']} |"
        )
    return "\n".join(out)


def profile_tables(r: dict[str, Any]) -> str:
    parts = []
    for name, p in r.get("profiles", {}).items():
        load = p["load"]
        parts.append(
            f"**{name}** ({load['ok_per_s']}/s, p50 {load['p50_ms']} ms, "
            f"{load['server_cpu_ms_per_ok']} ms server CPU per ok)\n"
        )
        parts.append(
            "| Where the time goes (innermost frame first) | wall: % of busy samples | "
            "GIL holder: % of samples |\n|---|---:|---:|"
        )
        wall, gil = p["wall"]["exclusive_pct"], p["gil"]["exclusive_pct"]
        for k in sorted(set(wall) | set(gil), key=lambda k: -(wall.get(k, 0) + gil.get(k, 0))):
            if wall.get(k, 0) + gil.get(k, 0) >= 1.0:
                parts.append(f"| {k} | {wall.get(k, 0)} | {gil.get(k, 0)} |")
        parts.append(
            f"| *(samples)* | {p['wall']['samples_busy']} | {p['gil']['samples_busy']} |\n"
        )
        parts.append("| Inclusive (any frame on the stack) | wall % | GIL % |\n|---|---:|---:|")
        for k, v in p["wall"]["inclusive_pct"].items():
            g = p["gil"]["inclusive_pct"].get(k, 0)
            if v or g:
                parts.append(f"| {k} | {v} | {g} |")
        parts.append("")
    return "\n".join(parts)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/results/latest.json"
    r = json.loads(path.read_text())
    m = r["machine"]
    print(
        f"Run: `{r['command']}` ({r['mode']}), {r['started_utc']} – {r['finished_utc']}; "
        f"load average at start {m['loadavg_at_start']}, before each part {r.get('loadavg_before')}, "
        f"at end {r.get('loadavg_at_end')}.\n"
    )
    print(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}, kernel {m['kernel']}; "
        f"Python {m['python']}; PostgreSQL {m['postgresql']}; {m['redis']}; {m['wrk']}.\n"
    )
    for title, fn in (
        ("Results", results_table),
        ("Targets", targets_table),
        ("CPU per success", cpu_table),
        ("Connections sweep", sweep_table),
        ("Hand-offs and the storage floor", handoff_table),
        ("Scale rounds", scale_table),
        ("Anatomy", anatomy_table),
        ("Profiles", profile_tables),
    ):
        print(f"### {title}\n")
        print(fn(r))
        print()
    if r.get("failures"):
        print("Failures:", r["failures"])


if __name__ == "__main__":
    main()
