"""pytest fixtures over the peers.

A test package opts in with `from tests.peers.fixtures import *` in its conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.net import silent_server
from tests.peers.smsc import Smsc, smsc_server
from tests.peers.smtp import SmtpPeer, smtp_server
from tests.peers.sns import SnsPeer, sns_server
from tests.peers.tls import SelfSigned, make_self_signed
from tests.peers.twilio import TwilioStub, twilio_stub

__all__ = [
    "real_delivery",
    "silent_port",
    "smsc",
    "smtp_plain",
    "smtp_refusing",
    "smtp_smtps",
    "smtp_starttls",
    "sns",
    "sns_session",
    "tls_cert",
    "twilio",
]


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> SelfSigned:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_plain() -> Iterator[SmtpPeer]:
    with smtp_server() as peer:
        yield peer


@pytest.fixture
def smtp_starttls(tls_cert: SelfSigned) -> Iterator[SmtpPeer]:
    with smtp_server(starttls=tls_cert.server_context(), auth=True) as peer:
        yield peer


@pytest.fixture
def smtp_smtps(tls_cert: SelfSigned) -> Iterator[SmtpPeer]:
    with smtp_server(implicit_tls=tls_cert.server_context(), auth=True) as peer:
        yield peer


@pytest.fixture
def smtp_refusing() -> Iterator[SmtpPeer]:
    with smtp_server(refuse_rcpt="550 5.1.1 Mailbox unavailable") as peer:
        yield peer


@pytest.fixture(scope="session")
def sns_session() -> Iterator[SnsPeer]:
    with sns_server() as peer:
        yield peer


@pytest.fixture
def sns(sns_session: SnsPeer) -> SnsPeer:
    sns_session.reset()
    return sns_session


@pytest.fixture
def twilio() -> Iterator[TwilioStub]:
    with twilio_stub() as stub:
        yield stub


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    with smsc_server() as server:
        yield server


@pytest.fixture
def silent_port() -> Iterator[int]:
    with silent_server() as port:
        yield port


@pytest.fixture
def real_delivery(container: Any, tls_cert: SelfSigned) -> Any:
    """The container with the outbox off (real transports), the test CA trusted for SMTP TLS and a
    short SMS deadline. The container fixture restores the config after the test."""
    container.config.outbox = False
    container.config.smtp_ca_file = str(Path(tls_cert.cert_file))
    container.config.sms_timeout_s = 2.0
    return container
