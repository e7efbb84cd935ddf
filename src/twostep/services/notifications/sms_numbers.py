"""The phone-number policy of the stored SMS settings (domain/phone_numbers.py), for the services
that send a code to a number: enrollment and every code send."""

from __future__ import annotations

from twostep.bootstrap import Container
from twostep.domain import phone_numbers
from twostep.services.records import stored_settings


def allowed_types(c: Container) -> tuple[str, ...]:
    with c.db.read() as conn:
        return phone_numbers.allowed_types(stored_settings.get(conn, "sms"))


def refusal(c: Container, number: str) -> str | None:
    """Why no SMS code may go to this (E.164) number under the stored settings, or None."""
    return phone_numbers.refusal(number, allowed_types(c))
