"""TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s), over pyotp. The only module that touches pyotp."""

from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import quote, quote_plus

import pyotp

DIGITS = 6
PERIOD = 30
# ThingsBoard's bean-validation pattern of a TOTP account config's authUrl (Java's \S and \w are
# ASCII-only, hence re.ASCII); provisioning_uri below always matches it.
_AUTH_URL = re.compile(r"otpauth://totp/(\S+?):(\S+?)\?issuer=(\S+?)&secret=(\w+?)", re.ASCII)


def new_secret() -> str:
    """160 random bits, base32 without padding: 32 characters."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def provisioning_uri(secret: str, *, issuer: str, account: str) -> str:
    """ThingsBoard's shape: otpauth://totp/<issuer>:<account>?issuer=<issuer>&secret=<secret>.

    The label is path-encoded (space -> %20, ':' and '@' kept); query values are form-encoded.
    """
    label = quote(f"{issuer}:{account}", safe=":@")
    return f"otpauth://totp/{label}?issuer={quote_plus(issuer)}&secret={secret}"


def is_auth_url(value: str) -> bool:
    return _AUTH_URL.fullmatch(value) is not None


def step_at(unix_seconds: float) -> int:
    return int(unix_seconds // PERIOD)


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step)


def match_step(secret: str, code: str, *, now: float, back_steps: int) -> int | None:
    """The time step whose code equals `code`, searching the current step and `back_steps` before
    it (newest first), or None. `code` must already be validated as exactly six digits."""
    current = step_at(now)
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    for step in range(current, current - back_steps - 1, -1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None
