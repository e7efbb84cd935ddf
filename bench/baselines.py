"""What twostep is set against: privacyIDEA's /validate/check (part `pi`), and the bare endpoints
and storage floor of bench/handoff_app.py (part `handoff`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

import seed
import settings
from load import wrk
from measurements import Steps, bracketed
from servers import handoff_server, pg_recreate, pi_server
from settings import BENCH, PI_BIN, WORK, Plan, log, pg_url


FLOOR_DB = "twostep_bench_floor"


def run_handoff(plan: Plan, out: dict[str, Any]) -> None:
    """The price of FastAPI's threadpool hand-offs in this stack, and the storage floor of a check
    (bench/handoff_app.py)."""
    import handoff_app

    env = {k: v for k, v in os.environ.items() if not k.startswith("TWOSTEP_")}
    env["PYTHONPATH"] = str(BENCH)
    floor_dir = WORK / "floor"
    shutil.rmtree(floor_dir, ignore_errors=True)
    floor_dir.mkdir(parents=True)
    env["FLOOR_SQLITE_URL"] = f"sqlite:///{floor_dir / 'floor.db'}"
    pg_recreate(FLOOR_DB)
    env["FLOOR_PG_URL"] = pg_url(FLOOR_DB)
    env["FLOOR_REDIS_URL"] = "redis://127.0.0.1:6379/13"
    for var in ("FLOOR_SQLITE_URL", "FLOOR_PG_URL"):
        handoff_app.prepare_floor(env[var])
    server = handoff_server(env)
    server.start()
    try:
        out["handoff"] = {}
        for path in ("/async", "/sync", "/sync-3sync", "/sync-3async"):
            out["handoff"][path] = wrk(
                "handoff" + path.replace("/", "_"),
                "plain.lua",
                server.base + path,
                threads=1,
                conns=plan.ceiling_conns,
                duration=max(3, plan.ceiling_s // 2),
                server=server,
            )
        # The floor at the check runs' concurrency, PostgreSQL backends counted as for a check.
        for name in ("sqlite", "pg"):
            out["handoff"][f"/floor-{name}"] = wrk(
                f"handoff_floor_{name}",
                "floor.lua",
                server.base + f"/floor-{name}",
                threads=1,
                conns=plan.check_conns,
                duration=max(3, plan.check_s // 2),
                server=server,
                pg_db=FLOOR_DB,
            )
    finally:
        server.stop()


def run_pi(plan: Plan, steps: Steps, out: dict[str, Any]) -> None:
    d = WORK / "pi"
    marker = d / "enrolled"
    # Enrolling is slow (~0.2 s a user over privacyIDEA's API): a set-up with enough users is
    # reused (TOTP tokens remember their last step, so earlier runs do not matter).
    reuse = not settings.FRESH_PI and marker.exists() and int(marker.read_text()) >= plan.pi_users
    t0 = time.perf_counter()
    if not reuse:
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run([str(PI_BIN / "python"), str(BENCH / "pi.py"), "setup", str(d)], check=True)
    server = pi_server(d)
    server.start()
    try:
        if not reuse:
            subprocess.run(
                [
                    str(PI_BIN / "python"),
                    str(BENCH / "pi.py"),
                    "enrol",
                    server.base,
                    str(plan.pi_users),
                ],
                check=True,
            )
            marker.write_text(str(plan.pi_users))
        out["pi_setup_s"] = round(time.perf_counter() - t0, 1)
        out["pi_setup_reused"] = reuse
        log(
            f"privacyIDEA: {'reused' if reuse else 'set up'} with {plan.pi_users} TOTP users in {out['pi_setup_s']}s"
        )
        step = steps.take("pi", plan.pi_s)
        import pyotp

        lines = [
            f"p{i:07d} 1234{pyotp.TOTP(seed.secret(i)).at(step * 30)}" for i in range(plan.pi_users)
        ]
        out["pi"] = bracketed(
            lambda: wrk(
                "pi_check",
                "pi_check.lua",
                server.base,
                threads=plan.pi_conns,
                conns=plan.pi_conns,
                duration=plan.pi_s,
                lines=lines,
                server=server,
            )
        )
    finally:
        server.stop()
