"""JwtCodec changes when PyJWT's checks run, never their verdicts: compared with PyJWT itself."""

from __future__ import annotations

import base64
import os
import time

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.api_jws import PyJWS

from twostep.services.sessions.jwt_codec import JwtCodec, _Jws

KEY = os.urandom(64)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Segments near the edge: base64url text, padding, and the characters around the alphabet.
segments = st.text(alphabet=ALPHABET + "=+/.! \n\x00é", max_size=24).map(str.encode) | st.binary(
    max_size=24
).map(lambda b: base64.urlsafe_b64encode(b))


def _verdict(check, segment: bytes) -> bytes | str:  # type: ignore[no-untyped-def]
    try:
        return check(segment, "payload")  # type: ignore[no-any-return]
    except jwt.DecodeError as err:
        return str(err)


@settings(max_examples=3000, deadline=None)
@given(segments)
def test_segment_checks_agree_with_pyjwt(segment: bytes) -> None:
    ours = _verdict(_Jws._decode_base64url_segment, segment)
    assert ours == _verdict(PyJWS._decode_base64url_segment, segment)


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "a@b.c", "iss": "twostep", "iat": now, "exp": now + 60, **extra}


def test_tokens_are_pyjwts() -> None:
    codec = JwtCodec(KEY, "HS512")
    claims = _claims(scopes=["TENANT_ADMIN"])
    token = codec.encode(claims)
    assert token == jwt.encode(claims, KEY, algorithm="HS512")
    assert codec.decode(token, issuer="twostep") == claims


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(_claims(), KEY, algorithm="HS256"),  # another algorithm, same key
        jwt.encode(_claims(), os.urandom(64), algorithm="HS512"),  # another key
        jwt.encode(_claims(), KEY, algorithm="HS512")[:-2] + "AA",  # altered signature
        jwt.encode(_claims(exp=int(time.time()) - 5), KEY, algorithm="HS512"),  # expired
        jwt.encode(_claims(iss="elsewhere"), KEY, algorithm="HS512"),  # another issuer
        "e30.e30.",  # unsigned
        "a.b",
    ],
)
def test_what_pyjwt_refuses_the_codec_refuses(token: str) -> None:
    with pytest.raises(jwt.PyJWTError) as pyjwt_error:
        jwt.decode(token, KEY, algorithms=["HS512"], issuer="twostep")
    with pytest.raises(jwt.PyJWTError) as codec_error:
        JwtCodec(KEY, "HS512").decode(token, issuer="twostep")
    assert type(codec_error.value) is type(pyjwt_error.value)


def test_an_asymmetric_key_is_refused_when_the_codec_is_built() -> None:
    pem = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
    with pytest.raises(jwt.InvalidKeyError):
        JwtCodec(pem, "HS512")
