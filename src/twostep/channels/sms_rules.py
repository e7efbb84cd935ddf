"""Rules every SMS transport shares (ThingsBoard's AbstractSmsSender), and the number block the send
caps use. Pure functions: no I/O. Which numbers a code may go to at all is domain/phone_numbers.py."""

from __future__ import annotations

import re
from typing import Protocol

from twostep.channels.errors import ChannelConfigError, ChannelSendError
from twostep.domain.contacts import is_e164

MAX_SMS_LENGTH = 1600  # Twilio's and SNS's limit; ThingsBoard truncates to it

INVALID_NUMBER = "Invalid phone number format. Phone number must be in E.164 format."


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
