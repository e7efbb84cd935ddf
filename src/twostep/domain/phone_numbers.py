"""Which phone numbers an SMS code may go to: valid for their region and of a personal type.

The shape (E.164 with ASCII digits, domain/contacts.py) says nothing of what a number is: a
premium-rate, shared-cost or international-network number has the same shape as a mobile one,
and a code sent there earns its owner money (SMS pumping). libphonenumber (`phonenumbers`) knows
each country's numbering plan: a number must be a valid one for its region, and its type one of
the allowed types, by default those that reach one person's mobile phone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from twostep.domain.contacts import is_e164

# libphonenumber's type names, as the SMS settings' `allowedNumberTypes` spells them.
TYPES: dict[str, int] = {
    name: value
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}
# A mobile number, or one of a plan that does not tell mobile and fixed lines apart (the
# United States, Canada, China...). Not FIXED_LINE (most cannot receive text messages), VOIP (not
# bound to a device: NIST SP 800-63B §5.1.3.1), PERSONAL_NUMBER (forwarded anywhere), PAGER,
# VOICEMAIL, UAN, TOLL_FREE, SHARED_COST, PREMIUM_RATE (they cost or pay), UNKNOWN.
DEFAULT_ALLOWED_TYPES = ("MOBILE", "FIXED_LINE_OR_MOBILE")
SETTINGS_FIELD = "allowedNumberTypes"

_LABELS = {
    "FIXED_LINE": "fixed-line",
    "MOBILE": "mobile",
    "FIXED_LINE_OR_MOBILE": "mobile",
    "TOLL_FREE": "toll-free",
    "PREMIUM_RATE": "premium-rate",
    "SHARED_COST": "shared-cost",
    "VOIP": "VoIP",
    "PERSONAL_NUMBER": "personal (forwarding)",
    "PAGER": "pager",
    "UAN": "company (UAN)",
    "VOICEMAIL": "voicemail",
    "UNKNOWN": "unclassified",
}


@dataclass(frozen=True)
class PhoneNumber:
    e164: str
    country_code: int
    region: str | None
    type: str  # a key of TYPES


def parse(value: object) -> PhoneNumber | None:
    """The number, when value is E.164 and a valid number of its region; else None."""
    if not isinstance(value, str) or not is_e164(value):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    kind = phonenumbers.number_type(number)
    return PhoneNumber(
        e164=value,
        country_code=int(number.country_code or 0),
        region=phonenumbers.region_code_for_number(number),
        type=next((name for name, code in TYPES.items() if code == kind), "UNKNOWN"),
    )


def allowed_types(sms_settings: dict[str, object] | None) -> tuple[str, ...]:
    """The types the stored (or submitted) SMS settings allow; the default when they say none."""
    configured = (sms_settings or {}).get(SETTINGS_FIELD)
    if isinstance(configured, list) and configured:
        return tuple(str(t) for t in configured)
    return DEFAULT_ALLOWED_TYPES


def settings_problem(value: object) -> str | None:
    """Why `allowedNumberTypes` of the SMS settings cannot be saved, or None (absent is fine)."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or any(not isinstance(t, str) or t not in TYPES for t in value)
    ):
        return f"{SETTINGS_FIELD} should be a non-empty list of: " + ", ".join(TYPES)
    return None


def refusal(value: object, allowed: Iterable[str]) -> str | None:
    """Why an SMS code may not go to value ('is not a valid phone number', 'is a premium-rate
    number...'), or None when it may. Assumes the E.164 shape was checked (its own message)."""
    number = parse(value)
    if number is None:
        return "is not a valid phone number"
    allowed = tuple(allowed)
    if number.type in allowed:
        return None
    accepted = sorted({_LABELS[t] for t in allowed if t in _LABELS})
    return (
        f"is a {_LABELS[number.type]} number; SMS codes go only to {' or '.join(accepted)} numbers"
    )


def country_calling_code(value: str) -> str:
    """The country calling code of a number ('+4915...' -> '49'), from the numbering plan; the
    first digits when libphonenumber cannot read it."""
    try:
        return str(phonenumbers.parse(value, None).country_code)
    except NumberParseException:
        return value.lstrip("+")[:3]
