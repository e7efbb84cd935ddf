"""A run's results: the targets (ratios against the goals of issue 7), the table printed at the
end, and the files written: bench/results/<timestamp>.json (read by bench/report.py and
bench/chart.py), latest.json and the chart."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from typing import Any

import settings
from pg_runs import SCALE_ROUNDS
from report import machine_cpu_ms_per_ok
from settings import BENCH, RESULTS, ROOT, TOOLS_BIN, Plan


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []

    def add(label: str, value: float | None, goal: str, ok: bool | None) -> None:
        rows.append({"target": label, "value": value, "goal": goal, "met": ok})

    bound = r.get("argon2", {}).get("per_s")
    single = r.get("argon2", {}).get("single_thread_median_ms")
    for db in ("sqlite", "pg"):
        login = r.get(f"login_{db}")
        if login and login.get("argon2_bound_adjacent_per_s"):
            v = round(login["ok_per_s"] / login["argon2_bound_adjacent_per_s"], 2)
            add(
                f"full logins ({db}) / argon2id bound measured around the run",
                v,
                ">= 0.8",
                v >= 0.8,
            )
        if login and bound:
            v = round(login["ok_per_s"] / bound, 2)
            add(
                f"full logins ({db}) / argon2id bound at the start",
                v,
                ">= 0.8",
                None if login.get("argon2_bound_adjacent_per_s") else v >= 0.8,
            )
        nohash = r.get("login_nohash")
        if login and login.get("argon2_in_server"):
            # The hash's own CPU, measured in the server's hashing threads under this load, against
            # everything the machine spent on a login (server, PostgreSQL, Redis, wrk): the login
            # ratio cannot exceed this share, however the cores are scheduled.
            h = login["argon2_in_server"]["cpu_ms_per_ok"]
            v = round(h / machine_cpu_ms_per_ok(login), 2)
            add(
                f"argon2id share of a full login's CPU, measured in the server ({db}; the ratio's ceiling)",
                v,
                ">= 0.8",
                None,
            )
            if db == "sqlite" and nohash:
                # The same share if the rest of a login cost what it costs with nothing hashing
                # beside it (the negligible-hash run): the part of the gap due to sharing the cores.
                rest = machine_cpu_ms_per_ok(nohash) - nohash.get("argon2_in_server", {}).get(
                    "cpu_ms_per_ok", 0.0
                )
                v = round(h / (h + rest), 2)
                add(
                    "  same, with the rest of a login at its cost alone (negligible-hash run; sqlite)",
                    v,
                    ">= 0.8",
                    None,
                )
        elif login and single:
            v = round(single / (login["server_cpu_ms_per_ok"] + login["pg_cpu_ms_per_ok"]), 2)
            add(
                f"argon2id share of a full login's CPU ({db}; the ratio's ceiling)",
                v,
                ">= 0.8",
                None,
            )
    pi = r.get("pi")
    for db in ("sqlite", "pg"):
        login = r.get(f"login_{db}")
        if login and pi and pi["ok_per_s"]:
            v = round(login["ok_per_s"] / pi["ok_per_s"], 2)
            add(f"full logins ({db}) / privacyIDEA PIN+TOTP checks (throughput)", v, ">= 3", v >= 3)
            if login.get("argon2_bound_adjacent_per_s") and pi.get("argon2_bound_adjacent_per_s"):
                v = round(
                    (login["ok_per_s"] / login["argon2_bound_adjacent_per_s"])
                    / (pi["ok_per_s"] / pi["argon2_bound_adjacent_per_s"]),
                    2,
                )
                add(
                    f"  same, each against the argon2id bound around its run ({db})",
                    v,
                    ">= 3",
                    None,
                )
            v = round(
                pi["server_cpu_ms_per_ok"]
                / (login["server_cpu_ms_per_ok"] + login["pg_cpu_ms_per_ok"]),
                2,
            )
            add(f"  same, server CPU per operation, privacyIDEA / twostep ({db})", v, ">= 3", None)
    for db in ("sqlite", "pg"):
        chk, ceil = r.get(f"check_{db}"), r.get(f"ceiling_{db}")
        if chk and ceil:
            v = round(chk["ok_per_s"] / ceil["ok_per_s"], 3)
            add(f"checks ({db}) / bare /healthz ceiling", v, ">= 0.5", v >= 0.5)
            if "client_cpu_ms_per_ok" in chk and "client_cpu_ms_per_ok" in ceil:
                # The ratio if both runs filled the cores: CPU per bare request / CPU per check,
                # each counting server, PostgreSQL, Redis and wrk.
                v = round(machine_cpu_ms_per_ok(ceil) / machine_cpu_ms_per_ok(chk), 3)
                add(
                    f"  same, if both filled the cores (CPU per request, bare / check) ({db}; the ceiling)",
                    v,
                    ">= 0.5",
                    None,
                )
        floor = r.get("handoff", {}).get(f"/floor-{db}")
        if floor and ceil:
            # A check that did nothing but the storage any check needs (bench/handoff_app.py, no
            # twostep middleware, no logic) against the same bare /healthz: the most a check can
            # reach in this stack, whatever its code does.
            v = round(floor["ok_per_s"] / ceil["ok_per_s"], 3)
            add(
                f"  storage floor of a check, no logic (1 read, 1 write transaction"
                f"{', 1 Redis call' if db == 'pg' else ''}) / bare /healthz ({db}; the most any check reaches)",
                v,
                ">= 0.5",
                None,
            )
    small, large = r.get("scale_small"), r.get("scale_large")
    if small and large:
        v = round(large["p50_ms"] / small["p50_ms"], 2)
        n1, n2 = f"{large['enrolled_users']:,}", f"{small['enrolled_users']:,}"
        add(
            f"check p50 at {n1} users / at {n2} users (median of {SCALE_ROUNDS} alternating runs)",
            v,
            "<= 1.2",
            v <= 1.2,
        )
        v99 = round(
            large.get("p99_ms_median", large["p99_ms"])
            / small.get("p99_ms_median", small["p99_ms"]),
            2,
        )
        add(f"check p99 at {n1} users / at {n2} users (medians; not a target)", v99, "<= 1.2", None)
    return rows


def table(r: dict[str, Any]) -> str:
    lines = []
    hdr = (
        f"{'measurement':44} {'ok/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'wrk cores':>9} {'srv cores':>9} "
        f"{'PG cores':>8} {'busy':>5} {'RSS/worker MiB':>15}"
    )
    lines.append(hdr)
    lines.append("-" * len(hdr))
    a = r.get("argon2")
    if a:
        lines.append(
            f"{'argon2id verify, ' + str(a['processes']) + ' processes (the bound)':44} {a['per_s']:>9} "
            f"{a['single_thread_median_ms']:>8} {'':>8} {'':>9} {'':>9} {'':>8} {a['machine_busy_cores']:>5}"
        )
    labels = [
        ("login_sqlite", "full login, SQLite"),
        ("login_pg", "full login, PostgreSQL + Redis"),
        ("login_nohash", "full login, SQLite, negligible hash"),
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
        lines.append(
            f"{label:44} {x['ok_per_s']:>9} {x['p50_ms']:>8} {x['p99_ms']:>8} "
            f"{x['client_cores']:>9} {x['server_cores']:>9} {x['pg_backend_cores']:>8} "
            f"{x['machine_busy_cores']:>5} {rss:>15}"
        )
    lines.append("")
    for t in r.get("targets", []):
        mark = "info" if t["met"] is None else ("MET" if t["met"] else "MISSED")
        lines.append(f"{t['target']:60} {t['value']!s:>7}  ({t['goal']})  {mark}")
    return "\n".join(lines)


def save(r: dict[str, Any], started: dt.datetime, plan: Plan, skip: set[str]) -> None:
    """Writes the results file, and after a complete full run latest.json and the documented chart
    (docs/benchmarks.png; other runs get a chart next to their file); prints the table."""
    variant = settings.VARIANT
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    tag = (
        ("-quick" if plan.quick else "")
        + (f"-{variant}" if variant else "")
        + ("-partial" if skip else "")
    )
    path = RESULTS / f"{stamp}{tag}.json"
    path.write_text(json.dumps(r, indent=2))
    complete = not (plan.quick or skip or variant)
    if complete:
        (RESULTS / "latest.json").write_text(json.dumps(r, indent=2))
    # Only a complete full run writes latest.json and the documented chart.
    chart = ROOT / "docs" / "benchmarks.png" if complete else path.with_suffix(".png")
    subprocess.run(
        [str(TOOLS_BIN / "python"), str(BENCH / "chart.py"), str(path), str(chart)], check=False
    )
    print()
    print(table(r))
    print(
        f"\nresults: {path.relative_to(ROOT)}{' (and bench/results/latest.json)' if complete else ''}; "
        f"chart: {chart.relative_to(ROOT)}"
    )
