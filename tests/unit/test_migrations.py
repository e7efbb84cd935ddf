"""The Alembic migrations create exactly the schema that storage/tables.py describes."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from twostep.storage.db import Database, make_engine
from twostep.storage.migrate import upgrade
from twostep.storage.tables import metadata


def test_migrations_match_the_tables(tmp_path: Path) -> None:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'm.db'}"))
    upgrade(db)
    with db.read() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    upgrade(db)  # idempotent
    db.dispose()
