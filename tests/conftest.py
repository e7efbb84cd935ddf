"""Fixtures. API tests run once on SQLite and once on PostgreSQL (127.0.0.1:5432, database `test`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.support import PG_ADMIN_URL, SYSADMIN_EMAIL, SYSADMIN_PASSWORD, LiveServer, make_config
from twostep.bootstrap import Container, build
from twostep.services.operations.setup import initialize
from twostep.storage.tables import metadata
from twostep.web.app import create_app

BACKENDS = [b for b in os.environ.get("TWOSTEP_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def _create_pg_database() -> str:
    name = f"twostep_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A database URL for the whole session on one backend."""
    if request.param == "postgresql":
        name = _create_pg_database()
        yield {"name": "postgresql", "url": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"}
        _drop_pg_database(name)
    else:
        path = tmp_path_factory.mktemp("sqlite") / "twostep.db"
        yield {"name": "sqlite", "url": f"sqlite:///{path}"}


@pytest.fixture(scope="session")
def session_container(backend: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    data_dir = tmp_path_factory.mktemp("data")
    container = build(make_config(data_dir, backend["url"]))
    initialize(container)
    yield container
    container.close()


def reset_database(container: Container) -> None:
    with container.db.transaction() as conn:
        if container.db.is_sqlite:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        else:
            names = ", ".join(f'"{tbl.name}"' for tbl in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture
def container(session_container: Container) -> Iterator[Container]:
    """A clean database (sysadmin and default tenant profile only) and an empty outbox."""
    reset_database(session_container)
    initialize(session_container)
    (session_container.config.data_dir / "outbox.jsonl").unlink(missing_ok=True)
    session_container.config.__dict__.update(_config_defaults(session_container))
    yield session_container


_DEFAULTS: dict[int, dict[str, Any]] = {}


def _config_defaults(container: Container) -> dict[str, Any]:
    # Tests may tweak the config; each test starts from the session's original values.
    key = id(container)
    if key not in _DEFAULTS:
        _DEFAULTS[key] = dict(container.config.__dict__)
    return _DEFAULTS[key]


@pytest.fixture
def app(container: Container) -> Any:
    return create_app(container)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def sysadmin_headers(client: TestClient) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    return {"X-Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    return tmp_path
