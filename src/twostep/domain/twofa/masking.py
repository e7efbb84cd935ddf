"""ThingsBoard's contact obfuscation for the provider list shown before verification."""

from __future__ import annotations


def obfuscate(value: str, start: int, end: int) -> str:
    part = value[start:end]
    if len(part) <= 4:
        hidden = "*" * len(part)
    else:
        hidden = part[:2] + "*" * (len(part) - 4) + part[-2:]
    return value[:start] + hidden + value[end:]


def mask_phone(phone: str) -> str:
    start = phone.index("+") + 1 if "+" in phone else 0
    return obfuscate(phone, start, len(phone))


def mask_email(email: str) -> str:
    at = email.find("@")
    return obfuscate(email, 0, at if at >= 0 else len(email))
