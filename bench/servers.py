"""The servers a bench run starts and stops: twostep as in production, privacyIDEA, and the bare
endpoints of bench/handoff_app.py; each in its own process group, up when its health URL answers
and both workers exist. Also the PostgreSQL databases they use and the in-process twostep
container that seeds a server's data."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import settings
from machine import children, cmdline
from settings import BENCH, PG_ADMIN_URL, PI_BIN, VENV_BIN, WORK, pg_url


class Server:
    """A server started by the bench (its own process group); workers are its child processes."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        env: dict[str, str],
        port: int,
        health: str,
        cwd: Path | None = None,
    ) -> None:
        self.name, self.cmd, self.env, self.port, self.health = name, cmd, env, port, health
        self.cwd = cwd
        self.hash_probe: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        out = open(WORK / f"{self.name}.log", "ab")
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            start_new_session=True,
        )
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


def twostep_server(
    name: str, port: int, *, database_url: str | None, redis_url: str | None
) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWOSTEP_")}
    env["TWOSTEP_DATA_DIR"] = str(WORK / name / "data")
    if database_url:
        env["TWOSTEP_DATABASE_URL"] = database_url
    if redis_url:
        env["TWOSTEP_REDIS_URL"] = redis_url
    # The hash probe (bench/variants/sitecustomize.py): the argon2id CPU inside the server.
    probe = WORK / "hashprobe" / name
    shutil.rmtree(probe, ignore_errors=True)
    probe.mkdir(parents=True)
    env["BENCH_HASH_PROBE"] = str(probe)
    env["PYTHONPATH"] = str(BENCH / "variants")
    if settings.VARIANT:
        env["BENCH_VARIANT"] = settings.VARIANT
    server = Server(
        name,
        [str(VENV_BIN / "twostep"), "serve", "--workers", "2", "--port", str(port)],
        env,
        port,
        "/healthz",
    )
    server.hash_probe = probe
    return server


def handoff_server(env: dict[str, str]) -> Server:
    """bench/handoff_app.py on the same uvicorn stack as twostep (2 workers, uvloop, httptools)."""
    return Server(
        "handoff",
        [
            str(VENV_BIN / "uvicorn"),
            "--factory",
            "handoff_app:create_app",
            "--workers",
            "2",
            "--port",
            "8804",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env,
        8804,
        "/async",
    )


def pi_server(d: Path) -> Server:
    """privacyIDEA from its set-up in d (bench/pi.py), under gunicorn with 2 sync workers."""
    env = {**os.environ, "PRIVACYIDEA_CONFIGFILE": str(d / "pi.cfg")}
    return Server(
        "pi",
        [
            str(PI_BIN / "gunicorn"),
            "-w",
            "2",
            "-b",
            "127.0.0.1:8803",
            "--no-control-socket",
            "--chdir",
            str(d),
            "pi_wsgi:application",
        ],
        env,
        8803,
        "/healthz/",
        cwd=d,
    )


def hash_totals(server: Server | None) -> tuple[int, float]:
    """(argon2id verifications, their thread CPU seconds) so far, over the server's processes."""
    probe = server.hash_probe if server else None
    count, cpu = 0, 0.0
    if probe is not None:
        for f in probe.iterdir():
            fields = f.read_text().split()
            if len(fields) == 2:
                count, cpu = count + int(fields[0]), cpu + float(fields[1])
    return count, cpu


def container_for(name: str, *, database_url: str | None, redis_url: str | None, **config: Any):  # type: ignore[no-untyped-def]
    from twostep.bootstrap import build
    from twostep.config import Config

    kwargs: dict[str, Any] = {"data_dir": WORK / name / "data", **config}
    if database_url:
        kwargs["database_url"] = database_url
    if redis_url:
        kwargs["redis_url"] = redis_url
    for k in [k for k in os.environ if k.startswith("TWOSTEP_")]:
        del os.environ[k]
    return build(Config(**kwargs))


def pg_recreate(db: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {db}"))
    eng.dispose()


def pg_size(db: str) -> str:
    from sqlalchemy import create_engine, text

    eng = create_engine(pg_url(db))
    with eng.connect() as conn:
        size = conn.execute(text(f"SELECT pg_size_pretty(pg_database_size('{db}'))")).scalar()
    eng.dispose()
    return str(size)
