"""Apply Alembic migrations programmatically (on start and by `twostep migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from twostep.storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    cfg = alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.transaction() as conn:  # on SQLite: the write lock, and one transaction for all
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
