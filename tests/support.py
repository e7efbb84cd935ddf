"""Test support: configs, a live uvicorn server in a thread, outbox reading."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from twostep.config import Config

SYSADMIN_EMAIL = "sysadmin@thingsboard.org"
SYSADMIN_PASSWORD = "sysadmin-Pa55word"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_config(data_dir: Path, database_url: str | None, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "sysadmin_email": SYSADMIN_EMAIL,
        "sysadmin_password": SYSADMIN_PASSWORD,
        "outbox": True,
        # Cheap argon2 in tests; the default parameters are covered by their own test.
        "argon2_memory_kib": 1024,
        "argon2_time_cost": 1,
        "base_url": None,
    }
    values.update(overrides)
    return Config(**values)


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a background thread, with the app's lifespan (the
    mail queue's worker and maintenance run as under `twostep serve`)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def outbox(config: Config) -> list[dict[str, Any]]:
    path = config.data_dir / "outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def clear_outbox(config: Config) -> None:
    (config.data_dir / "outbox.jsonl").unlink(missing_ok=True)


def deliver_queued_mail(container: Any, timeout: float = 10) -> None:
    """Sends the queued mail (password-reset requests) now, as the worker would, and waits for
    any the app's own worker is sending at the moment (rows waiting for a later retry stay)."""
    from twostep.services.operations.mail_worker import drain_once
    from twostep.services.records import mail_queue

    deadline = time.time() + timeout
    while True:
        drain_once(container)
        if not mail_queue.pending(container):
            return
        if time.time() > deadline:
            raise AssertionError("queued mail was not sent")
        time.sleep(0.02)


def wait_for_message(config: Config, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    """The newest outbox message matching predicate, waiting for mail sent after the answer
    (password-reset mails go out in the background)."""
    deadline = time.time() + timeout
    while True:
        found = [m for m in outbox(config) if predicate(m)]
        if found:
            return found[-1]
        if time.time() > deadline:
            raise AssertionError("no matching message in the outbox")
        time.sleep(0.05)
