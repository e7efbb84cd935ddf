"""The delivery port: what services call to send an email or an SMS.

A send either is accepted by the transport or raises DeliveryFailed; callers store a code only
after the send succeeded, so a failed send leaves nothing usable behind.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from twostep.channels.render import render_email
from twostep.config import Config
from twostep.crypto import SecretBox
from twostep.domain.ids import now_ms
from twostep.storage.db import Database

log = logging.getLogger("twostep.delivery")


class OutboxWriter:
    """Development-only transport: every message is appended to <data_dir>/outbox.jsonl (mode 0600).

    NOT FOR PRODUCTION: the file holds one-time codes in clear so that operators and tests can read
    them without a mail server or SMS provider.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"time": now_ms(), **record}) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as out:
                out.write(line)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


class Delivery:
    def __init__(self, config: Config, db: Database, box: SecretBox) -> None:
        self._config = config
        self._db = db
        self._box = box
        self.outbox = OutboxWriter(config.data_dir / "outbox.jsonl") if config.outbox else None
        if self.outbox:
            log.warning(
                "outbox delivery is on: emails and SMS go to %s, NOT to real recipients "
                "(development only)",
                self.outbox.path,
            )

    def mail_configured(self) -> bool:
        return self.outbox is not None

    def sms_configured(self) -> bool:
        return self.outbox is not None

    def send_email(self, to: str, template: str, context: dict[str, Any]) -> None:
        message = render_email(template, context)
        if self.outbox is not None:
            self.outbox.write(
                {"channel": "email", "to": to, "subject": message.subject, "body": message.text}
            )
            return
        from twostep.domain.errors import DeliveryFailed

        raise DeliveryFailed("Mail server is not configured")

    def send_sms(self, to: str, text: str) -> None:
        if self.outbox is not None:
            self.outbox.write({"channel": "sms", "to": to, "body": text})
            return
        from twostep.domain.errors import DeliveryFailed

        raise DeliveryFailed("Unable to send SMS: no SMS provider configured!")


def build_delivery(config: Config, db: Database, box: SecretBox) -> Delivery:
    return Delivery(config, db, box)
