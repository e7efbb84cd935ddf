"""The delivery port: what services call to send an email or an SMS.

A send either is accepted by the transport or raises DeliveryFailed; callers store a code only
after the send succeeded, so a failed send leaves nothing usable behind.

The transport is built for each send from the stored `mail` / `sms` admin settings, so a saved
change applies at once on every instance. The outbox (config.outbox, development only) takes
precedence over any stored settings.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twostep.channels import mail_presets
from twostep.channels.errors import ChannelConfigError, ChannelError, ChannelSendError
from twostep.channels.render import render_email
from twostep.channels.settings_secrets import unseal
from twostep.channels.sms_rules import SmsSender, validate_number
from twostep.channels.smtp import SmtpSettings, SmtpTransport
from twostep.config import Config
from twostep.crypto import SecretBox
from twostep.domain import phone_numbers
from twostep.domain.errors import BadRequest, DeliveryFailed
from twostep.domain.ids import now_ms
from twostep.storage.db import Database

log = logging.getLogger("twostep.delivery")

SMS_PROVIDER_TYPES = ("AWS_SNS", "TWILIO", "SMPP")


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


def build_sms_sender(provider: dict[str, Any], *, timeout_s: float) -> SmsSender:
    """A sender for one SmsProviderConfiguration (polymorphic on `type`); raises
    ChannelConfigError when the configuration cannot build one."""
    kind = provider.get("type")
    if kind == "TWILIO":
        from twostep.channels.twilio_sms import TwilioSender

        return TwilioSender(provider, timeout_s=timeout_s)
    if kind == "AWS_SNS":
        from twostep.channels.aws_sns import SnsSender

        return SnsSender(provider, timeout_s=timeout_s)
    if kind == "SMPP":
        from twostep.channels.smpp import SmppSender

        return SmppSender(provider, timeout_s=timeout_s)
    raise ChannelConfigError(f"Unsupported SMS provider type: {str(kind)[:32]}")


class Delivery:
    def __init__(self, config: Config, db: Database, box: SecretBox) -> None:
        self._config = config
        self._db = db
        self._box = box
        self._outbox: OutboxWriter | None = None
        self._lock = threading.Lock()

    @property
    def outbox(self) -> OutboxWriter | None:
        """The outbox writer while config.outbox is on (read on every call: tests toggle it)."""
        if not self._config.outbox:
            return None
        path = self._config.data_dir / "outbox.jsonl"
        with self._lock:
            if self._outbox is None or self._outbox.path != path:
                self._outbox = OutboxWriter(path)
                log.warning(
                    "outbox delivery is on: emails and SMS go to %s, NOT to real recipients "
                    "(development only)",
                    path,
                )
            return self._outbox

    # -- stored settings ---------------------------------------------------------------------

    def _stored(self, key: str) -> dict[str, Any] | None:
        from twostep.services.records import stored_settings

        with self._db.read() as conn:
            value = stored_settings.get(conn, key)
        if key == "mail" and mail_presets.is_install_default(value):
            return None  # the installed placeholder names no server anybody chose
        return unseal(self._box, key, value) if value is not None else None

    def _mail_transport(self, settings: dict[str, Any]) -> SmtpTransport:
        return SmtpTransport(SmtpSettings.parse(settings), ca_file=self._config.smtp_ca_file)

    def _sms_sender(self, provider: dict[str, Any]) -> SmsSender:
        return build_sms_sender(provider, timeout_s=self._config.sms_timeout_s)

    def mail_configured(self) -> bool:
        """True when a mail transport can be built from settings an administrator saved (or
        outbox is on)."""
        if self.outbox is not None:
            return True
        stored = self._stored("mail")
        try:
            return stored is not None and self._mail_transport(stored) is not None
        except ChannelError:
            return False

    def sms_configured(self) -> bool:
        """True when an SMS sender can be built from the stored settings (or outbox is on)."""
        if self.outbox is not None:
            return True
        stored = self._stored("sms")
        try:
            return stored is not None and self._sms_sender(stored) is not None
        except ChannelError:
            return False

    # -- sending -------------------------------------------------------------------------------

    def send_email(self, to: str, template: str, context: dict[str, Any]) -> None:
        message = render_email(template, context)
        outbox = self.outbox
        if outbox is not None:
            outbox.write(
                {"channel": "email", "to": to, "subject": message.subject, "body": message.text}
            )
            return
        stored = self._stored("mail")
        if stored is None:
            raise DeliveryFailed("Mail server is not configured")
        try:
            self._mail_transport(stored).send(to, message)
        except ChannelError as exc:
            log.warning("email %r not sent: %s", template, exc.message)
            raise DeliveryFailed(f"Unable to send mail: {exc.message}") from None

    def send_sms(self, to: str, text: str) -> None:
        outbox = self.outbox
        if outbox is not None:
            outbox.write({"channel": "sms", "to": to, "body": text})
            return
        stored = self._stored("sms")
        if stored is None:
            raise DeliveryFailed("Unable to send SMS: no SMS provider configured!")
        try:
            self._sms_sender(stored).send(to, text)
        except ChannelError as exc:
            log.warning("SMS not sent: %s", exc.message)
            raise DeliveryFailed(f"Unable to send SMS: {exc.message}") from None

    # -- the sysadmin's test endpoints: the given (unsaved) settings, never the outbox ------------

    def test_mail(self, settings: dict[str, Any], to: str) -> None:
        try:
            transport = self._mail_transport(settings)
        except ChannelConfigError as exc:
            if exc.message.startswith("Invalid smtp port value"):
                raise BadRequest(exc.message) from None  # ThingsBoard answers 400 here
            raise DeliveryFailed(f"Unable to send mail: {exc.message}") from None
        try:
            transport.send(to, render_email("test_mail", {"target_email": to}))
        except ChannelError as exc:
            log.warning("test email not sent: %s", exc.message)
            raise DeliveryFailed(f"Unable to send mail: {exc.message}") from None

    def test_sms(
        self, provider: dict[str, Any], to: str | None, text: str, allowed_types: Iterable[str]
    ) -> None:
        """Like ThingsBoard's: the sender is built first (its configuration errors first), then
        the number is checked. Unlike it, for every provider (SMPP too) the number must be E.164
        and a valid number of an allowed type: the administrator's test is no way to reach a
        premium-rate number."""
        try:
            sender = self._sms_sender(provider)
            number = validate_number(to)
            refused = phone_numbers.refusal(number, allowed_types)
            if refused:
                raise ChannelSendError(f"the phone number {refused}")
            sender.send(number, text)
        except ChannelError as exc:
            log.warning("test SMS not sent: %s", exc.message)
            raise DeliveryFailed(f"Unable to send SMS: {exc.message}") from None


def build_delivery(config: Config, db: Database, box: SecretBox) -> Delivery:
    return Delivery(config, db, box)
