"""Production-mode tests: real `twostep serve` processes on one PostgreSQL database and one Redis.

Select them with `-m production`; they run in the normal suite too. Every process started here is
killed by a finalizer (its whole process group), every database created here is dropped.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.production.helpers import METRICS_TOKEN
from tests.support import PG_ADMIN_URL, SYSADMIN_EMAIL, SYSADMIN_PASSWORD, free_port, make_config
from twostep.bootstrap import Container, build

ROOT = Path(__file__).resolve().parents[2]
TWOSTEP = ROOT / ".venv" / "bin" / "twostep"
HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "production: multi-process production-mode tests (PostgreSQL, Redis, serve)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.production)


# -- databases ------------------------------------------------------------------------------------


def create_database() -> str:
    name = f"twostep_prod_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pg_admin(sql: str) -> Any:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            result = conn.execute(text(sql))
            return result.all() if result.returns_rows else None
    finally:
        admin.dispose()


def pg_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


# -- server processes -----------------------------------------------------------------------------


class ServerProcess:
    """One `twostep serve` instance (its own process group, so SIGKILL takes its workers too)."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, workers: int = 1) -> None:
        self.name = name
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [
                str(TWOSTEP),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(self.log_path.parent),
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 40) -> ServerProcess:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready: {self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text()[-n:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL to the whole instance (supervisor and workers): a crash, nothing is flushed."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int | None:
        """SIGTERM (graceful shutdown), then SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap_group()
        return self.proc.returncode

    def _reap_group(self) -> None:
        # Workers left behind by a supervisor that died first.
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class Cluster:
    """Several instances on one PostgreSQL database, one Redis database and one data directory."""

    def __init__(self, tmp: Path, *, redis_url: str | None, db_name: str) -> None:
        self.tmp = tmp
        self.data_dir = tmp / "data"
        self.data_dir.mkdir()
        self.db_name = db_name
        self.database_url = pg_url(db_name)
        self.redis_url = redis_url
        self.servers: list[ServerProcess] = []
        self._container: Container | None = None

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWOSTEP_", "PROMETHEUS_"))}
        env.update(
            TWOSTEP_DATABASE_URL=self.database_url,
            TWOSTEP_DATA_DIR=str(self.data_dir),
            TWOSTEP_OUTBOX="1",
            TWOSTEP_SYSADMIN_EMAIL=SYSADMIN_EMAIL,
            TWOSTEP_SYSADMIN_PASSWORD=SYSADMIN_PASSWORD,
            TWOSTEP_ARGON2_MEMORY_KIB="1024",
            TWOSTEP_ARGON2_TIME_COST="1",
            TWOSTEP_MAINTENANCE_INTERVAL_S="0",
            # Budgets shared by every test run on this Redis: off, so that runs never starve.
            TWOSTEP_SMS_CAP_GLOBAL="",
            TWOSTEP_EMAIL_CAP_GLOBAL="",
            TWOSTEP_EMAIL_CAP_PER_CLIENT="",
            TWOSTEP_SMS_CAP_PER_CLIENT="",
            TWOSTEP_LOG_LEVEL="INFO",
            TWOSTEP_METRICS_TOKEN=METRICS_TOKEN,
        )
        if self.redis_url:
            env["TWOSTEP_REDIS_URL"] = self.redis_url
        for key, value in overrides.items():
            name = "TWOSTEP_" + key.upper()
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def add(self, name: str, *, workers: int = 1, **env: str | None) -> ServerProcess:
        server = ServerProcess(name, self.env(**env), self.tmp, workers=workers)
        self.servers.append(server)
        return server

    def start(self, count: int, *, workers: tuple[int, ...] = ()) -> list[ServerProcess]:
        started = [
            self.add(chr(ord("a") + i), workers=workers[i] if i < len(workers) else 1).start()
            for i in range(count)
        ]
        for server in started:
            server.wait_ready()
        return started

    @property
    def container(self) -> Container:
        """The test's own view of the shared database and keys (direct set-up and inspection)."""
        if self._container is None:
            self._container = build(
                make_config(self.data_dir, self.database_url, redis_url=self.redis_url)
            )
        return self._container

    def stop_all(self) -> None:
        for server in self.servers:
            server.kill()
            server._reap_group()
        if self._container is not None:
            self._container.close()
            self._container = None


@pytest.fixture(scope="module")
def make_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Factory: make_cluster(redis=True) -> Cluster on a fresh database; all torn down after."""
    made: list[Cluster] = []

    def factory(*, redis_url: str | None = "default") -> Cluster:
        if redis_url == "default":
            redis_url = f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
        name = create_database()
        cluster = Cluster(tmp_path_factory.mktemp("cluster"), redis_url=redis_url, db_name=name)
        made.append(cluster)
        return cluster

    yield factory
    for cluster in made:
        cluster.stop_all()
        drop_database(cluster.db_name)


class PrivateRedis:
    """A redis-server of the test's own on a free port (never the shared one on 6379)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
            ],
            check=True,
            capture_output=True,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def ping(self) -> bool:
        r = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, check=False
        )
        return r.stdout.strip() == "PONG"

    def shutdown(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            check=False,
        )
        deadline = time.time() + 10
        while self.ping() and time.time() < deadline:
            time.sleep(0.05)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.shutdown()
