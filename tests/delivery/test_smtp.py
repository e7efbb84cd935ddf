"""SMTP delivery against real aiosmtpd servers: plain, STARTTLS + AUTH, implicit TLS + AUTH, and
failures (5xx, bad AUTH, untrusted certificate, a silent server, a closed port)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.delivery.helpers import mail_settings, save_settings
from tests.peers import smtp as smtp_peer
from tests.peers.net import closed_port
from tests.support import outbox
from twostep.domain.errors import DeliveryFailed

# aiosmtpd warns when AUTH is allowed without STARTTLS; our SMTPS peer is TLS from the first byte.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

CODE_CONTEXT = {"code": "042917", "expiration_seconds": 120, "target_email": "user@example.com"}


def test_plain_smtp_sends_text_and_html(real_delivery: Any, smtp_plain: Any) -> None:
    save_settings(real_delivery, "mail", mail_settings(smtp_plain.port))
    assert real_delivery.delivery.mail_configured()

    real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)

    [got] = smtp_plain.messages
    assert got.mail_from == "sysadmin@localhost.localdomain"
    assert got.rcpt_tos == ["user@example.com"]
    assert not got.tls and not got.authenticated
    message = got.message
    assert message["Subject"] == "ThingsBoard - 2FA verification code"
    assert message["From"] == smtp_peer_from()
    assert message["To"] == "user@example.com"
    assert message["Message-ID"] and message["Date"]
    assert "Your verification code: 042917" in got.part("plain")
    html = got.part("html")
    assert "042917" in html and "user@example.com" in html
    assert not message.get_all("Bcc") and not message.get_all("Cc")


def smtp_peer_from() -> str:
    return "ThingsBoard <sysadmin@localhost.localdomain>"


def test_starttls_with_auth(real_delivery: Any, smtp_starttls: Any) -> None:
    save_settings(
        real_delivery,
        "mail",
        mail_settings(
            smtp_starttls.port,
            enableTls=True,
            username=smtp_peer.USERNAME,
            password=smtp_peer.PASSWORD,
        ),
    )
    real_delivery.delivery.send_email(
        "user@example.com",
        "account_lockout",
        {"locked_account": "x@example.com", "max_attempts": 5},
    )
    [got] = smtp_starttls.messages
    assert got.tls and got.authenticated
    assert "x@example.com" in got.part("plain")


def test_implicit_tls_with_auth(real_delivery: Any, smtp_smtps: Any) -> None:
    save_settings(
        real_delivery,
        "mail",
        mail_settings(
            smtp_smtps.port,
            smtpProtocol="smtps",
            username=smtp_peer.USERNAME,
            password=smtp_peer.PASSWORD,
        ),
    )
    real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
    [got] = smtp_smtps.messages
    assert got.authenticated
    assert "042917" in got.part("plain")


def test_untrusted_certificate_is_refused(real_delivery: Any, smtp_smtps: Any) -> None:
    real_delivery.config.smtp_ca_file = None  # the self-signed certificate is not trusted now
    save_settings(
        real_delivery,
        "mail",
        mail_settings(
            smtp_smtps.port,
            smtpProtocol="smtps",
            username=smtp_peer.USERNAME,
            password=smtp_peer.PASSWORD,
        ),
    )
    with pytest.raises(DeliveryFailed) as err:
        real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
    assert "CERTIFICATE_VERIFY_FAILED" in err.value.message or "certificate" in err.value.message
    assert smtp_peer.PASSWORD not in err.value.message
    assert smtp_smtps.messages == []


def test_bad_auth_is_a_clear_failure_without_the_password(
    real_delivery: Any, smtp_starttls: Any
) -> None:
    save_settings(
        real_delivery,
        "mail",
        mail_settings(
            smtp_starttls.port,
            enableTls=True,
            username=smtp_peer.USERNAME,
            password="wrong-Password-1",
        ),
    )
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as err:
        real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
    assert time.monotonic() - started < 3
    assert err.value.message.startswith("Unable to send mail: 535")
    assert "wrong-Password-1" not in err.value.message and "042917" not in err.value.message
    assert smtp_starttls.messages == []


def test_recipient_refused_5xx(real_delivery: Any, smtp_refusing: Any) -> None:
    save_settings(real_delivery, "mail", mail_settings(smtp_refusing.port))
    with pytest.raises(DeliveryFailed) as err:
        real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
    assert "550" in err.value.message and "Mailbox unavailable" in err.value.message


def test_silent_server_times_out(real_delivery: Any, silent_port: int) -> None:
    save_settings(real_delivery, "mail", mail_settings(silent_port, timeout="1000"))
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as err:
        real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
    assert time.monotonic() - started < 3.5
    assert err.value.message == "Unable to send mail: Timeout!"


def test_closed_port_fails_fast(real_delivery: Any) -> None:
    save_settings(real_delivery, "mail", mail_settings(closed_port()))
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as err:
        real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
    assert time.monotonic() - started < 2
    assert err.value.message.startswith("Unable to send mail: ")


def test_timeout_zero_or_huge_is_bounded() -> None:
    from twostep.channels.smtp import SmtpSettings

    base = mail_settings(25)
    assert SmtpSettings.parse({**base, "timeout": "0"}).timeout_s == 10
    assert SmtpSettings.parse({**base, "timeout": "junk"}).timeout_s == 10
    assert SmtpSettings.parse({**base, "timeout": 999999}).timeout_s == 60


@pytest.mark.parametrize(
    "to",
    [
        "user@example.com\r\nBcc: victim@example.org",
        "user@example.com\nBcc: victim@example.org",
        "user@example.com, victim@example.org",
        "=?UTF-8?Q?=0A?=Bcc:victim@example.org",
        "Victim <victim@example.org>",
    ],
)
def test_header_injection_in_recipient_is_refused(
    real_delivery: Any, smtp_plain: Any, to: str
) -> None:
    save_settings(real_delivery, "mail", mail_settings(smtp_plain.port))
    with pytest.raises(DeliveryFailed):
        real_delivery.delivery.send_email(to, "twofa_code", CODE_CONTEXT)
    assert smtp_plain.messages == []


def test_template_values_are_data_not_code(real_delivery: Any, smtp_plain: Any) -> None:
    save_settings(real_delivery, "mail", mail_settings(smtp_plain.port))
    context = {
        "user_email": "user@example.com",
        "time": "2026-11-27 10:00:00 UTC",
        "client_address": "203.0.113.7",
        "browser": "{{ 7*7 }}<script>alert(1)</script>",
        "os": "Linux\r\nBcc: victim@example.org",
        "reason": "Verification code is incorrect",
    }
    real_delivery.delivery.send_email("user@example.com", "login_attempt_failed", context)
    [got] = smtp_plain.messages
    assert got.rcpt_tos == ["user@example.com"]
    assert "{{ 7*7 }}" in got.part("plain") and "49" not in got.part("plain")
    assert "<script>" not in got.part("html") and "&lt;script&gt;" in got.part("html")
    assert not got.message.get_all("Bcc")


@pytest.mark.parametrize(
    ("template", "context"),
    [
        (
            "login_attempt_failed",
            {
                "user_email": "u@example.com",
                "time": "2026-11-27 10:00:00 UTC",
                "client_address": "203.0.113.7",
                "browser": "Chrome 120.0.0",
                "os": "Windows 10",
                "reason": "Verification code is incorrect",
            },
        ),
        ("twofa_lockout_owner", {"user_email": "u@example.com", "max_attempts": 10}),
        (
            "twofa_changed",
            {
                "user_email": "u@example.com",
                "change": "Authenticator app added",
                "time": "2026-11-27 10:00:00 UTC",
                "client_address": "203.0.113.7",
                "browser": "Firefox 130.0",
            },
        ),
        ("account_activated", {"login_link": "https://tb.example.com/login"}),
        ("activation", {"link": "https://tb.example.com/a?t=x", "ttl_hours": 24}),
        ("reset_password", {"link": "https://tb.example.com/r?t=x", "ttl_hours": 24}),
        ("password_was_reset", {"login_link": "https://tb.example.com/login"}),
    ],
)
def test_every_template_sends_text_and_html(
    real_delivery: Any, smtp_plain: Any, template: str, context: dict[str, Any]
) -> None:
    save_settings(real_delivery, "mail", mail_settings(smtp_plain.port))
    real_delivery.delivery.send_email("u@example.com", template, context)
    [got] = smtp_plain.messages
    for value in context.values():
        assert str(value) in got.part("plain")
        assert str(value) in got.part("html")


def test_outbox_takes_precedence(container: Any, smtp_plain: Any) -> None:
    save_settings(container, "mail", mail_settings(smtp_plain.port))
    container.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
    assert smtp_plain.messages == []
    [record] = outbox(container.config)
    assert record["to"] == "user@example.com" and "042917" in record["body"]


def test_not_configured(real_delivery: Any) -> None:
    assert not real_delivery.delivery.mail_configured()
    with pytest.raises(DeliveryFailed, match="Mail server is not configured"):
        real_delivery.delivery.send_email("user@example.com", "twofa_code", CODE_CONTEXT)
