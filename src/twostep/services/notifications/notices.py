"""Sending codes and telling account owners about their 2FA (failed attempts, lockout, changes)."""

from __future__ import annotations

import logging
import time
from typing import Any

from twostep.bootstrap import Container
from twostep.domain.errors import DeliveryFailed
from twostep.domain.twofa.providers import ProviderType
from twostep.domain.useragent import describe
from twostep.services.records import audit, mail_queue
from twostep.services.values import ClientSeen, UserRecord

log = logging.getLogger("twostep.twofa")


def _check_caps(c: Container, **kwargs: Any) -> None:
    from twostep.services.notifications.send_caps import check_send_allowed

    check_send_allowed(c, **kwargs)


def send_code(
    c: Container,
    *,
    user: UserRecord,
    provider: ProviderType,
    target: str,
    code: str,
    lifetime: int,
    template: str | None,
    client: ClientSeen,
) -> None:
    """Deliver a one-time code; raises DeliveryFailed (nothing is stored by the caller then)."""
    channel = "sms" if provider == ProviderType.SMS else "email"
    _check_caps(
        c, channel=channel, user_id=user.id, destination=target, client_address=client.address
    )
    if provider == ProviderType.SMS:
        text = (
            (template or "Verification code: ${code}")
            .replace("${code}", code)
            .replace("${userEmail}", user.email)
        )
        failure = None
        try:
            c.delivery.send_sms(target, text)
        except DeliveryFailed as exc:
            failure = exc.message
            raise
        finally:
            with c.db.transaction() as conn:
                audit.record_user_event(
                    conn, user, "SMS_SENT", {"recipientNumber": target}, failure=failure
                )
        return
    try:
        c.delivery.send_email(
            target,
            "twofa_code",
            {"code": code, "expiration_seconds": lifetime, "target_email": target},
        )
    except DeliveryFailed:
        raise DeliveryFailed("Couldn't send 2FA verification email") from None


def best_effort_email(
    c: Container, to: str | None, template: str, context: dict[str, Any]
) -> None:
    """Send a mail that must never fail the request that caused it (notices, confirmations)."""
    if not to:
        return
    try:
        c.delivery.send_email(to, template, context)
    except Exception as exc:  # notifications never fail the request that caused them
        log.warning("notification %s could not be sent: %s", template, type(exc).__name__)


QUEUED_EMAIL = "email"  # the mail queue's kind of row for queued_email


def queued_email(c: Container, to: str | None, template: str, context: dict[str, Any]) -> None:
    """Like best_effort_email, but sent by the mail queue's worker after the request: for a
    notice that only some answers of an unauthenticated route would cause (an account that
    exists), whose SMTP exchange would otherwise show in that request's time."""
    if to:
        mail_queue.enqueue(c, QUEUED_EMAIL, {"to": to, "template": template, "context": context})


def send_queued_email(c: Container, payload: dict[str, Any], *, first_attempt: bool) -> None:
    """The mail queue's handler for queued_email; raises DeliveryFailed to be tried again."""
    c.delivery.send_email(payload["to"], payload["template"], payload["context"])


def _when() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def _account_change(c: Container, user: UserRecord, template: str, client: ClientSeen, **extra: Any) -> None:
    """Tell the owner that their sign-in details changed, and from where."""
    agent = describe(getattr(client, "user_agent", None))
    context = {
        "user_email": user.email,
        "time": _when(),
        "client_address": getattr(client, "address", "unknown"),
        "browser": agent["browser"],
    }
    best_effort_email(c, user.email, template, {**context, **extra})


def changed(c: Container, user: UserRecord, change: str, client: ClientSeen) -> None:
    _account_change(c, user, "twofa_changed", client, change=change)


def password_changed(c: Container, user: UserRecord, client: ClientSeen, reset_link: str) -> None:
    _account_change(c, user, "password_changed", client, reset_link=reset_link)


def failed_second_step(
    c: Container, user: UserRecord, *, client_address: str, user_agent: str | None, reason: str
) -> None:
    agent = describe(user_agent)
    best_effort_email(
        c,
        user.email,
        "login_attempt_failed",
        {
            "user_email": user.email,
            "time": _when(),
            "client_address": client_address,
            "browser": agent["browser"],
            "os": agent["os"],
            "reason": reason,
        },
    )


def lockout(c: Container, user: UserRecord, *, max_attempts: int, admin_address: str | None) -> None:
    best_effort_email(
        c,
        user.email,
        "twofa_lockout_owner",
        {"user_email": user.email, "max_attempts": max_attempts},
    )
    best_effort_email(
        c,
        admin_address,
        "account_lockout",
        {"locked_account": user.email, "max_attempts": max_attempts},
    )
