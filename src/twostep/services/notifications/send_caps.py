"""Send caps against SMS pumping (toll fraud) and mail flooding (spec/security.md A17).

`check_send_allowed` runs before every one-time-code send. Each cap is a fixed window counted with
the shared limiter (database or Redis), so it holds across instances and under parallel requests:
the count and the check are one atomic step. Caps are checked from the most specific (user) to
the global budget and stop at the first one exceeded, so a flood from one user does not also eat
the budget that other users need.

Counter keys hold keyed hashes of phone numbers, emails and client addresses, not the values.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from twostep.bootstrap import Container
from twostep.channels.sms_rules import INVALID_NUMBER, number_block
from twostep.domain.contacts import is_e164
from twostep.domain.errors import BadRequest, TooManyRequests
from twostep.domain.ids import NULL_UUID
from twostep.domain.phone_numbers import country_calling_code
from twostep.services.notifications import sms_numbers
from twostep.services.records import audit
from twostep.storage import tables as t

log = logging.getLogger("twostep.send_caps")

# ThingsBoard's ActionType enum has SMS_SENT but no email counterpart, and tb-rest-client rejects
# unknown action types when it reads the audit log; an email refusal is recorded as a failed LOGIN.
AUDIT_ACTION = {"sms": "SMS_SENT", "email": "LOGIN"}


@dataclass(frozen=True)
class Cap:
    count: int
    period_s: int


def parse_cap(value: str) -> Cap | None:
    """'count:seconds' -> Cap; '' or a zero count/period -> None (cap off).

    Raises ValueError if malformed."""
    value = (value or "").strip()
    if not value:
        return None
    count_text, sep, period_text = value.partition(":")
    if not sep:
        raise ValueError(f"send cap {value!r} is not 'count:seconds'")
    count, period = int(count_text), int(period_text)
    if count < 0 or period < 0:
        raise ValueError(f"send cap {value!r} has a negative number")
    return Cap(count, period) if count > 0 and period > 0 else None


def parse_country_codes(value: str) -> tuple[str, ...]:
    codes = tuple(c.strip().lstrip("+") for c in (value or "").split(",") if c.strip())
    for code in codes:
        if not code.isdigit():
            raise ValueError(f"country calling code {code!r} is not digits")
    return codes


def check_send_allowed(
    container: Container,
    *,
    channel: str,
    user_id: uuid.UUID | str,
    destination: str,
    client_address: str,
) -> None:
    """Raise TooManyRequests (429) when a cap is exceeded, BadRequest (400) when an SMS
    destination is not E.164, not in the country allow-list, or not a valid number of an allowed
    type (domain/phone_numbers.py). Call it outside any open write
    transaction (each counter commits on its own) and before generating the code."""
    if channel not in AUDIT_ACTION:
        raise ValueError(f"unknown channel {channel!r}")
    config = container.config
    destination = (destination or "").strip()
    caps: list[tuple[str, str, str]] = []  # (config field, counter key, name for the audit)

    def hashed(value: str) -> str:
        return str(container.codes.hash(value, scope="send_cap"))[:32]

    if channel == "sms":
        if not is_e164(destination):
            raise BadRequest(INVALID_NUMBER)
        allowed = parse_country_codes(config.sms_allowed_country_codes)
        if allowed and not any(destination[1:].startswith(code) for code in allowed):
            cc = country_calling_code(destination)
            _refuse(container, channel, user_id, destination, client_address, "country not allowed")
            raise BadRequest(f"SMS to country code +{cc} is not allowed")
        # Valid for its region and of an allowed type: a number enrolled under wider settings
        # (or before this check) gets no premium-rate, VoIP... codes either.
        if refused := sms_numbers.refusal(container, destination):
            _refuse(container, channel, user_id, destination, client_address, "number not allowed")
            raise BadRequest(f"SMS to this phone number is not allowed: it {refused}")
        caps += [
            ("sms_cap_per_user", f"cap:sms:user:{user_id}", "per user"),
            ("sms_cap_per_destination", f"cap:sms:dest:{hashed(destination)}", "per destination"),
            ("sms_cap_per_client", f"cap:sms:client:{hashed(client_address)}", "per client"),
            (
                "sms_cap_per_block",
                f"cap:sms:block:{hashed(number_block(destination))}",
                "per block",
            ),
            (
                "sms_cap_per_country",
                f"cap:sms:cc:{country_calling_code(destination)}",
                "per country",
            ),
            ("sms_cap_global", "cap:sms:global", "global"),
        ]
    else:
        email = destination.lower()
        caps += [
            ("email_cap_per_user", f"cap:email:user:{user_id}", "per user"),
            ("email_cap_per_destination", f"cap:email:dest:{hashed(email)}", "per destination"),
            ("email_cap_per_client", f"cap:email:client:{hashed(client_address)}", "per client"),
            ("email_cap_global", "cap:email:global", "global"),
        ]

    for field, key, name in caps:
        cap = parse_cap(getattr(config, field))
        if cap is None:
            continue
        if not container.limiter.hit(key, capacity=cap.count, period_s=cap.period_s):
            if name == "global":
                log.error("%s send budget exhausted (%s)", channel, getattr(config, field))
            _refuse(container, channel, user_id, destination, client_address, f"{name} cap")
            raise TooManyRequests()


def _refuse(
    container: Container,
    channel: str,
    user_id: uuid.UUID | str,
    destination: str,
    client_address: str,
    why: str,
) -> None:
    label = "SMS" if channel == "sms" else "Email"
    data: dict[str, Any] = {"clientAddress": client_address}
    data["recipientNumber" if channel == "sms" else "recipientEmail"] = destination
    uid = user_id if isinstance(user_id, uuid.UUID) else _as_uuid(user_id)
    with container.db.transaction() as conn:
        user = None
        if uid is not None:
            user = conn.execute(
                select(t.user.c.id, t.user.c.email, t.user.c.tenant_id, t.user.c.customer_id).where(
                    t.user.c.id == uid
                )
            ).first()
        actor = (
            audit.Actor(user.id, user.email, user.tenant_id, user.customer_id)
            if user is not None
            else audit.Actor(uid, None, NULL_UUID, NULL_UUID)
        )
        audit.record(
            conn,
            actor,
            AUDIT_ACTION[channel],
            entity_type="USER",
            entity_id=uid,
            entity_name=user.email if user is not None else None,
            data=data,
            failure=f"{label} not sent: {why} exceeded"
            if "cap" in why
            else f"{label} not sent: {why}",
        )


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
