"""Operator commands: `twostep serve`, `twostep migrate`, `twostep outbox`, user administration."""

from __future__ import annotations

import json
import os

import typer
from rich.console import Console
from rich.table import Table

from twostep.config import Config

app = typer.Typer(help="twostep: two-factor authentication server", no_args_is_help=True)
console = Console(stderr=True)


def _container():  # type: ignore[no-untyped-def]
    from twostep.bootstrap import build

    return build(Config())


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind"),
    port: int = typer.Option(8080, help="Port to bind"),
    workers: int = typer.Option(1, help="Worker processes (production: one or two per core)"),
    proxy_headers: bool = typer.Option(False, help="Trust X-Forwarded-Proto from the proxy"),
) -> None:
    """Apply migrations, create the sysadmin on first start, and serve HTTP."""
    import uvicorn

    from twostep.logging_setup import configure, log_config

    # Production mode: JSON logs (no secrets, uvicorn's access log with its query strings is off),
    # per-instance Prometheus multiprocess directory before any worker starts, migrations once.
    # The workers share the cores; each sizes its hashing to its share (Config.workers).
    os.environ["TWOSTEP_WORKERS"] = str(workers)
    # glibc gives each thread that allocates its own heap arena, and an arena keeps the 19 MiB an
    # argon2id hash used: with ~40 threadpool threads a worker's memory grew with every thread
    # that ever hashed. Two arenas per process bound that (an operator's own value wins).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    config = Config()
    configure(config.log_level)
    if workers > 1:
        _prepare_metrics_dir(config, host, port)
    _initialize_once()
    uvicorn.run(
        "twostep.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="127.0.0.1" if proxy_headers else None,
        server_header=False,
        timeout_graceful_shutdown=20,
        log_level=config.log_level.lower(),
        log_config=log_config(config.log_level),
        access_log=False,
    )


def _prepare_metrics_dir(config: Config, host: str, port: int) -> None:
    """prometheus_client multiprocess mode: each worker writes its samples to files in one
    directory, which /metrics aggregates. One directory per instance (host:port), emptied at start
    so that a restart does not resurrect a dead worker's samples; an operator's own
    PROMETHEUS_MULTIPROC_DIR is used as it is."""
    import shutil

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    safe_host = "".join(ch if ch.isalnum() else "_" for ch in host)
    path = (config.data_dir / "prometheus" / f"{safe_host}_{port}").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)  # inherited by the worker processes


def _initialize_once() -> None:
    """Migrations and the first sysadmin, before any worker starts. On PostgreSQL an advisory lock
    serialises instances that start at the same time on one database."""
    from sqlalchemy import text

    from twostep.services.operations.setup import initialize

    container = _container()
    try:
        if container.db.is_sqlite:
            initialize(container)
            return
        with container.db.engine.connect() as lock_conn:
            lock_conn.execute(text("SELECT pg_advisory_lock(7142023501)"))
            try:
                initialize(container)
            finally:
                lock_conn.execute(text("SELECT pg_advisory_unlock(7142023501)"))
                lock_conn.commit()
    finally:
        container.close()


@app.command()
def migrate() -> None:
    """Apply database migrations (also done on every start)."""
    from twostep.services.operations.setup import initialize

    container = _container()
    initialize(container)
    container.close()
    console.print("database is up to date")


@app.command()
def outbox(last: int = typer.Option(20, help="How many messages to show")) -> None:
    """Show the development outbox (TWOSTEP_OUTBOX=1): messages that were NOT really sent."""
    from twostep.channels.delivery import OutboxWriter

    path = Config().data_dir / "outbox.jsonl"
    for record in OutboxWriter(path).read()[-last:]:
        typer.echo(json.dumps(record))


@app.command("users")
def list_users() -> None:
    """List users with their authority and 2FA methods."""
    from sqlalchemy import select

    from twostep.storage import tables as t

    container = _container()
    with container.db.read() as conn:
        rows = conn.execute(select(t.user.c.id, t.user.c.email, t.user.c.authority)).all()
        methods = conn.execute(select(t.twofa_config.c.user_id, t.twofa_config.c.provider_type)).all()
    by_user: dict[object, list[str]] = {}
    for m in methods:
        by_user.setdefault(m.user_id, []).append(m.provider_type)
    table = Table("email", "authority", "2FA", "id")
    for r in rows:
        table.add_row(r.email, r.authority, ", ".join(by_user.get(r.id, [])) or "-", str(r.id))
    Console().print(table)
    container.close()


def main() -> None:
    os.umask(0o077)  # keys, SQLite files and the outbox are owner-only
    app()


if __name__ == "__main__":
    main()
