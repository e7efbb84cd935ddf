"""One-time codes: generation from the CSPRNG and strict input checks."""

from __future__ import annotations

import re
import secrets

CODE_DIGITS = 6
# Lowercase hex, as ThingsBoard's login form takes them: 8 characters (32 bits) by default, longer
# by configuration. With at most 100 failures before a lockout a guess succeeds with probability
# below 10^-6 per lockout (NIST SP 800-63B-4 asks 20 bits of rate-limited look-up secrets).
BACKUP_CODE_LENGTH = 8
BACKUP_CODE_MAX_LENGTH = 32

_DIGITS = re.compile(r"[0-9]{6}")
# Every length the server may have generated, so codes made before a change of length still work.
_BACKUP = re.compile(rf"[0-9a-f]{{{BACKUP_CODE_LENGTH},{BACKUP_CODE_MAX_LENGTH}}}")


def numeric_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def backup_codes(count: int, length: int = BACKUP_CODE_LENGTH) -> list[str]:
    if not BACKUP_CODE_LENGTH <= length <= BACKUP_CODE_MAX_LENGTH:
        raise ValueError("backup code length out of range")
    codes: list[str] = []
    while len(codes) < count:
        code = secrets.token_hex((length + 1) // 2)[:length]
        if code not in codes:
            codes.append(code)
    return codes


def is_numeric_code(value: str | None) -> bool:
    """Exactly six ASCII digits: no spaces, signs, underscores or full-width digits."""
    return value is not None and _DIGITS.fullmatch(value) is not None


def is_backup_code(value: str | None) -> bool:
    return value is not None and _BACKUP.fullmatch(value) is not None
