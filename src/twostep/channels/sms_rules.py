"""Rules every SMS transport shares (ThingsBoard's AbstractSmsSender), and phone-number helpers the
send caps use. Pure functions: no I/O."""

from __future__ import annotations

import re
from typing import Protocol

from twostep.channels.errors import ChannelConfigError, ChannelSendError
from twostep.domain.contacts import is_e164

MAX_SMS_LENGTH = 1600  # Twilio's and SNS's limit; ThingsBoard truncates to it

INVALID_NUMBER = "Invalid phone number format. Phone number must be in E.164 format."

# ITU-T E.164 country calling codes are prefix-free: 1 and 7 are the only one-digit codes, the
# two-digit ones are listed here, every other assigned code has three digits.
_ONE_DIGIT = {"1", "7"}
_TWO_DIGIT = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
}  # fmt: skip


class SmsSender(Protocol):
    def send(self, to: str, text: str) -> None:
        """Deliver one message or raise ChannelSendError."""




def validate_number(number: str | None) -> str:
    """Trimmed E.164 number, or the ThingsBoard error."""
    if number is None:
        raise ChannelSendError(INVALID_NUMBER)
    number = number.strip()
    if not is_e164(number):
        raise ChannelSendError(INVALID_NUMBER)
    return number


def prepare_message(text: str) -> str:
    """ThingsBoard's preparation: drop one leading and one trailing double quote, turn the two
    characters `\\n` into a newline, truncate to 1600 characters."""
    text = text.removeprefix('"')
    text = text.removesuffix('"')
    text = text.replace("\\n", "\n")
    return text[:MAX_SMS_LENGTH]


def country_calling_code(number: str) -> str:
    """The country calling code of an E.164 number ('+4915...' -> '49')."""
    digits = number.lstrip("+")
    if digits[:1] in _ONE_DIGIT:
        return digits[:1]
    if digits[:2] in _TWO_DIGIT:
        return digits[:2]
    return digits[:3]


def number_block(number: str) -> str:
    """The number without its last three digits: sequential numbers share a block (pumping
    attacks walk through ranges of premium numbers)."""
    return number[:-3] if len(number) > 6 else number


def require(fields: dict[str, object], message: str) -> None:
    """Raise ChannelConfigError(message) unless every field is a non-blank value."""
    for value in fields.values():
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ChannelConfigError(message)


def endpoint_url(value: object) -> str | None:
    """An optional endpoint override (a local stub, a VPC endpoint): http(s) URLs only."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/?#]+(/[^\s]*)?$", value.strip()):
        raise ChannelConfigError("Invalid endpointUrl: an http(s) URL is expected")
    return value.strip().rstrip("/")
