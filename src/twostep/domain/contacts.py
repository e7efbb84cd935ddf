"""Phone numbers and email addresses, checked whole (fullmatch: no trailing newline slips through)
and with ASCII digits only (\\d would also accept Arabic-Indic or full-width digits)."""

from __future__ import annotations

import re

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# ThingsBoard's email pattern (DataValidator), ASCII letters and digits only.
_EMAIL = re.compile(r"[A-Za-z0-9_!#$%&'*+/=?`{|}~^.-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def is_e164(value: object) -> bool:
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def is_email(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 255 and _EMAIL.fullmatch(value) is not None
