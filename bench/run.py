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

This file runs the parts in order; the rest is in bench/: settings.py (paths, databases, the
plan), machine.py (/proc accounting), servers.py (starting and stopping the servers), load.py
(one wrk run and its costs), measurements.py (the kinds of run), profiles.py (py-spy),
sqlite_runs.py, pg_runs.py and baselines.py (the parts), results.py (targets, table, files).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import settings
from baselines import run_handoff, run_pi
from machine import loadavg, machine_info
from measurements import Steps, argon2_bound
from pg_runs import run_pg
from results import save, targets
from settings import FULL, QUICK, RESULTS, WORK, log
from sqlite_runs import run_nohash, run_sqlite


def main() -> None:
    ap = argparse.ArgumentParser(description="twostep benchmark suite")
    ap.add_argument("--quick", action="store_true", help="small user counts and short runs")
    ap.add_argument(
        "--skip", default="", help="comma list of parts to skip: argon2,sqlite,nohash,pi,handoff,pg"
    )
    ap.add_argument(
        "--variant", default="", help="what-if worker set-up (bench/variants/sitecustomize.py): switch, hash2"
    )
    ap.add_argument("--fresh-pi", action="store_true", help="set privacyIDEA up again from scratch")
    ap.add_argument("--large", type=int, default=0, help="override the large PostgreSQL user count")
    args = ap.parse_args()
    plan = QUICK if args.quick else FULL
    if args.large:
        plan = dataclasses.replace(plan, pg_large=args.large)
    settings.VARIANT = args.variant
    settings.FRESH_PI = args.fresh_pi
    skip = {s for s in args.skip.split(",") if s}
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORK / "profiles", ignore_errors=True)
    shutil.rmtree(WORK / "runs", ignore_errors=True)
    started = dt.datetime.now(dt.UTC)
    r: dict[str, Any] = {
        "started_utc": started.isoformat(timespec="seconds"),
        "mode": "quick" if plan.quick else "full",
        "command": "scripts/bench " + " ".join(sys.argv[1:]),
        "variant": settings.VARIANT or None,
        "plan": plan.__dict__,
        "machine": machine_info(),
    }
    log(f"{r['mode']} run; load average {r['machine']['loadavg_at_start']}")
    steps = Steps()
    parts = [
        ("argon2", lambda: r.__setitem__("argon2", argon2_bound(plan.argon2_s))),
        ("sqlite", lambda: run_sqlite(plan, steps, r)),
        ("nohash", lambda: run_nohash(plan, steps, r)),
        ("pi", lambda: run_pi(plan, steps, r)),
        ("handoff", lambda: run_handoff(plan, r)),
        ("pg", lambda: run_pg(plan, steps, r)),
    ]
    for part, fn in parts:
        if part in skip:
            continue
        r.setdefault("loadavg_before", {})[part] = loadavg()
        try:
            fn()
        except Exception as exc:  # keep the other parts; the failure is in the results
            log(f"{part} FAILED: {exc!r}")
            r.setdefault("failures", {})[part] = repr(exc)
    r["finished_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    r["loadavg_at_end"] = loadavg()
    r["targets"] = targets(r)
    save(r, started, plan, skip)


if __name__ == "__main__":
    main()
