"""RFC 4226 and RFC 6238 known-answer tests (spec/security.md §3), and the window/replay math."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import pyotp
import pytest

from twostep.domain.twofa import otp

SEED_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # ASCII "12345678901234567890"

RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]


@pytest.mark.parametrize("counter,expected", list(enumerate(RFC4226)))
def test_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert pyotp.HOTP(SEED_B32).at(counter) == expected


def _totp8(seed: bytes, digest: str, at: int) -> str:
    """An independent RFC 6238 implementation (hmac + dynamic truncation) for the 8-digit vectors."""
    mac = hmac.new(seed, struct.pack(">Q", at // 30), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**8:08d}"


RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("at,sha1,sha256,sha512", RFC6238)
def test_rfc6238_appendix_b_with_per_algorithm_seeds(at: int, sha1: str, sha256: str, sha512: str) -> None:
    assert _totp8(b"12345678901234567890", "sha1", at) == sha1
    assert _totp8(b"12345678901234567890123456789012", "sha256", at) == sha256
    assert _totp8(b"1234567890123456789012345678901234567890123456789012345678901234", "sha512", at) == sha512
    assert pyotp.TOTP(SEED_B32, digits=8).at(at) == sha1


@pytest.mark.parametrize("at,expected", [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"),
                                          (1234567890, "005924"), (2000000000, "279037"), (20000000000, "353130")])
def test_six_digit_codes_keep_leading_zeros(at: int, expected: str) -> None:
    assert otp.code_at_step(SEED_B32, at // 30) == expected
    assert otp.match_step(SEED_B32, expected, now=at, back_steps=1) == at // 30


def test_window_accepts_current_and_previous_only() -> None:
    now = 1_800_000_015
    step = now // 30
    assert otp.match_step(SEED_B32, otp.code_at_step(SEED_B32, step), now=now, back_steps=1) == step
    assert otp.match_step(SEED_B32, otp.code_at_step(SEED_B32, step - 1), now=now, back_steps=1) == step - 1
    assert otp.match_step(SEED_B32, otp.code_at_step(SEED_B32, step - 2), now=now, back_steps=1) is None
    assert otp.match_step(SEED_B32, otp.code_at_step(SEED_B32, step + 1), now=now, back_steps=1) is None
    assert otp.match_step(SEED_B32, otp.code_at_step(SEED_B32, step - 1), now=now, back_steps=0) is None


def test_new_secret_is_160_bits_base32() -> None:
    secrets_ = {otp.new_secret() for _ in range(100)}
    assert len(secrets_) == 100
    for s in secrets_:
        assert len(s) == 32 and len(base64.b32decode(s)) == 20


def test_provisioning_uri_matches_thingsboard() -> None:
    uri = otp.provisioning_uri("PNJDNWJVAK4ZTUYT7RFGPQLXA7XGU7PX", issuer="TB 2FA", account="tenant@thingsboard.org")
    assert uri == "otpauth://totp/TB%202FA:tenant@thingsboard.org?issuer=TB+2FA&secret=PNJDNWJVAK4ZTUYT7RFGPQLXA7XGU7PX"
