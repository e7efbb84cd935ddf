"""Email over SMTP with aiosmtplib: plain, STARTTLS (`enableTls`), implicit TLS (`smtps`), AUTH when
a username is set. Settings are ThingsBoard's `mail` admin settings (spec platform §3.2).

Routes are sync functions in the threadpool, so each send runs its own short event loop under one
overall deadline (the settings' `timeout`).
"""

from __future__ import annotations

import asyncio
import email.policy
import re
import ssl
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from typing import Any

from twostep.channels.errors import ChannelConfigError, ChannelSendError, describe, scrub
from twostep.channels.render import RenderedEmail

DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 60_000  # ThingsBoard's UI allows 999 999 ms; a request must not wait that long
_TLS_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
# One plain addr-spec: no display name, no list, no comment, no encoded word (header injection).
_FORBIDDEN_IN_ADDRESS = re.compile(r"[\s,;:<>()\[\]\"\\]|=\?|[\x00-\x1f\x7f]")


def _flag(value: object) -> bool:
    # Old installs store booleans as "true"/"false" strings.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _timeout_ms(value: object) -> int:
    try:
        ms = int(str(value).strip())
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_MS
    return DEFAULT_TIMEOUT_MS if ms <= 0 else min(ms, MAX_TIMEOUT_MS)


@dataclass(frozen=True)
class SmtpSettings:
    mail_from: str
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    tls_version: ssl.TLSVersion | None
    username: str | None
    password: str | None = field(repr=False)
    timeout_s: float

    @classmethod
    def parse(cls, value: dict[str, Any]) -> SmtpSettings:
        mail_from = str(value.get("mailFrom") or "").strip()
        host = str(value.get("smtpHost") or "").strip()
        if not mail_from or not host:
            raise ChannelConfigError("Mail settings: mailFrom and smtpHost should be specified!")
        port_value = value.get("smtpPort")
        try:
            port = int(str(port_value).strip())
            if not 0 < port < 65536:
                raise ValueError
        except (TypeError, ValueError):
            raise ChannelConfigError(f"Invalid smtp port value: {str(port_value)[:32]}") from None
        protocol = str(value.get("smtpProtocol") or "smtp").strip().lower()
        if protocol not in ("smtp", "smtps"):
            raise ChannelConfigError("Mail settings: smtpProtocol must be smtp or smtps")
        if _flag(value.get("enableProxy")):
            raise ChannelConfigError("Mail settings: sending through a proxy is not supported")
        if _flag(value.get("enableOauth2")):
            raise ChannelConfigError("Mail settings: OAuth2 authentication is not supported")
        tls_version = value.get("tlsVersion")
        username = str(value.get("username") or "").strip() or None
        password = value.get("password")
        settings = cls(
            mail_from=mail_from,
            host=host,
            port=port,
            implicit_tls=protocol == "smtps",
            starttls=protocol == "smtp" and _flag(value.get("enableTls")),
            tls_version=_TLS_VERSIONS.get(str(tls_version)) if tls_version else None,
            username=username,
            password=str(password) if password is not None else None,
            timeout_s=_timeout_ms(value.get("timeout")) / 1000,
        )
        settings.envelope_from()  # a From that cannot be parsed is a configuration error
        return settings

    def envelope_from(self) -> str:
        try:
            message = EmailMessage(policy=email.policy.default)
            message["From"] = self.mail_from
            return str(message["From"].addresses[0].addr_spec)
        except (ValueError, IndexError, TypeError):
            raise ChannelConfigError("Mail settings: mailFrom is not a valid address") from None


def check_recipient(to: str) -> str:
    """One bare address, or ChannelSendError: never a list, a display name or a line break."""
    to = (to or "").strip()
    if to.count("@") != 1 or _FORBIDDEN_IN_ADDRESS.search(to):
        raise ChannelSendError("Invalid recipient address")
    try:
        Address(addr_spec=to)
    except (ValueError, IndexError, TypeError):
        raise ChannelSendError("Invalid recipient address") from None
    return to


def build_message(settings: SmtpSettings, to: str, rendered: RenderedEmail) -> EmailMessage:
    """Headers through the email package's default policy, which raises on CR/LF in a value."""
    message = EmailMessage(policy=email.policy.default)
    try:
        message["From"] = settings.mail_from
        message["To"] = check_recipient(to)
        message["Subject"] = rendered.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=settings.envelope_from().rpartition("@")[2])
    except ValueError:
        raise ChannelSendError("Invalid mail header value") from None
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    _check_headers(message)
    return message


def _check_headers(message: EmailMessage) -> None:
    # Defence in depth for Pythons without the fixes for encoded newlines (CVE-2024-6923,
    # CVE-2026-1299): the serialized message must parse back to exactly the headers we set.
    expected = ["from", "to", "subject", "date", "message-id", "content-type", "mime-version"]
    parsed = BytesParser(policy=email.policy.default).parsebytes(
        message.as_bytes(), headersonly=True
    )
    names = sorted(k.lower() for k in parsed)
    allowed = sorted(set(expected) | {"content-transfer-encoding"})
    if any(n not in allowed for n in names) or len(names) != len(set(names)):
        raise ChannelSendError("Invalid mail header value")


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, *, ca_file: str | None = None) -> None:
        self.settings = settings
        self._ca_file = ca_file

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._ca_file:
            context.load_verify_locations(cafile=self._ca_file)
        if self.settings.tls_version is not None:
            context.minimum_version = self.settings.tls_version
        return context

    def send(self, to: str, rendered: RenderedEmail) -> None:
        message = build_message(self.settings, to, rendered)
        self.send_message(message, to)

    def send_message(self, message: EmailMessage, to: str) -> None:
        import aiosmtplib

        s = self.settings
        uses_tls = s.implicit_tls or s.starttls

        async def _send() -> None:
            await aiosmtplib.send(
                message,
                sender=s.envelope_from(),
                recipients=[check_recipient(to)],
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=(s.password or "") if s.username else None,
                use_tls=s.implicit_tls,
                # Plain `smtp` without enableTls never upgrades (ThingsBoard's behaviour).
                start_tls=s.starttls,
                tls_context=self._tls_context() if uses_tls else None,
                timeout=s.timeout_s,
            )

        try:
            _run(_send(), s.timeout_s)
        except TimeoutError:
            raise ChannelSendError("Timeout!") from None
        except ChannelSendError:
            raise
        except Exception as exc:  # noqa: BLE001 (every failure becomes one clear, scrubbed error)
            raise ChannelSendError(self._reason(exc)) from None

    def _reason(self, exc: BaseException) -> str:
        import aiosmtplib

        if isinstance(exc, aiosmtplib.SMTPTimeoutError):
            reason = "Timeout!"
        elif isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            reason = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        elif isinstance(exc, aiosmtplib.SMTPResponseException):
            reason = f"{exc.code} {exc.message}"
        elif isinstance(exc, aiosmtplib.SMTPException):
            reason = str(exc) or describe(exc)
        else:
            reason = describe(exc)
        return scrub(reason, [self.settings.password])


def _run(coro: Coroutine[Any, Any, None], timeout_s: float) -> None:
    """Run a coroutine to completion under a deadline from sync code, never nesting event loops."""

    def _in_new_loop() -> None:
        asyncio.run(asyncio.wait_for(coro, timeout_s + 1.0))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _in_new_loop()
        return
    # Called on an event loop's thread (an async caller): use a helper thread instead.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_in_new_loop).result()
