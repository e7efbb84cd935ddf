"""Activation links and the activation mail (spec §1.10)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection

from twostep.bootstrap import Container
from twostep.domain.errors import BadRequest, DeliveryFailed
from twostep.services.records.stored_settings import security_settings
from twostep.services.signin.credentials import current_activation_token
from twostep.services.values import UserRecord

log = logging.getLogger("twostep.activation")

MAIL_FAILED = "Couldn't send user activation email"


@dataclass(frozen=True)
class ActivationLink:
    link: str
    expires_at: int


def ttl_hours(conn: Connection) -> int:
    return int(security_settings(conn).get("userActivationTokenTtl") or 24)


def link(base_url: str, token: str) -> str:
    return f"{base_url}/api/noauth/activate?activateToken={token}"


def current_link(c: Container, conn: Connection, user: UserRecord, base_url: str) -> ActivationLink:
    """The user's link (its token renewed when close to expiry); 400 once activated."""
    current = current_activation_token(c, conn, user.id, ttl_hours(conn))
    if current is None:
        raise BadRequest("User is already activated!")
    token, expires_at = current
    return ActivationLink(link(base_url, token), expires_at)


def send(c: Container, email: str, url: str, ttl: int) -> None:
    """A failed send is one message for the caller; the transport's detail stays in its log."""
    try:
        c.delivery.send_email(email, "activation", {"link": url, "ttl_hours": ttl})
    except DeliveryFailed:
        log.warning("activation mail not sent")
        raise DeliveryFailed(MAIL_FAILED) from None
