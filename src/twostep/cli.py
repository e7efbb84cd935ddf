"""Operator commands: `twostep serve`, `twostep migrate`, `twostep outbox`, user administration."""

from __future__ import annotations

import json
import logging
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

    from twostep.services.setup import initialize

    logging.basicConfig(level=Config().log_level)
    container = _container()
    initialize(container)
    container.close()
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
        log_level=Config().log_level.lower(),
    )


@app.command()
def migrate() -> None:
    """Apply database migrations (also done on every start)."""
    from twostep.services.setup import initialize

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
