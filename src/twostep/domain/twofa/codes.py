"""One-time codes: generation from the CSPRNG and strict input checks."""

from __future__ import annotations

import re
import secrets

CODE_DIGITS = 6
BACKUP_CODE_LENGTH = 16  # lowercase hex: 64 bits each (ThingsBoard: 8 hex = 32 bits)

_DIGITS = re.compile(r"[0-9]{6}")
_BACKUP = re.compile(r"[0-9a-f]{16}")


def numeric_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def backup_codes(count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        code = secrets.token_hex(BACKUP_CODE_LENGTH // 2)
        if code not in codes:
            codes.append(code)
    return codes


def is_numeric_code(value: str | None) -> bool:
    """Exactly six ASCII digits: no spaces, signs, underscores or full-width digits."""
    return value is not None and _DIGITS.fullmatch(value) is not None


def is_backup_code(value: str | None) -> bool:
    return value is not None and _BACKUP.fullmatch(value) is not None
