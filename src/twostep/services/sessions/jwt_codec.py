"""PyJWT for one HMAC key, without the per-call costs that do not depend on the token.

Every request with a token decodes one and every login signs one to three, so PyJWT's fixed costs
are on the hot path. Measured on PyJWT 2.15 (docs/benchmarks.md): most of a decode was its
base64url check, which tests each character of each segment in a Python generator, and a third of
an encode was the key vetting (is this HMAC secret really a PEM, SSH or DER public key?) repeated
for the same key on every call. This codec keeps PyJWT's checks and changes when they run: the
alphabet test is one regular expression with the same verdicts, and the key is vetted once, when
the codec is built.
"""

from __future__ import annotations

import binascii
import re
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import DecodeError
from jwt.utils import base64url_decode, base64url_encode

# PyJWT's alphabet (api_jws._BASE64URL_ALPHABET) as one class; \Z so a trailing newline fails too.
_BASE64URL = re.compile(rb"[A-Za-z0-9\-_]*\Z")


class _OneKeyHmac(HMACAlgorithm):
    """HMAC whose key is vetted when the codec is built; another key is vetted as PyJWT does."""

    def __init__(self, hash_alg: Any, key: bytes) -> None:
        super().__init__(hash_alg)
        self._key = key
        self._prepared = super().prepare_key(key)  # raises for asymmetric keys, as PyJWT would

    def prepare_key(self, key: str | bytes) -> bytes:
        if key is self._key:
            return self._prepared
        return super().prepare_key(key)


class _Jws(jwt.PyJWS):
    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        # The same steps and errors as PyJWS._decode_base64url_segment (tests compare the two).
        stripped = segment.rstrip(b"=")
        padding = len(segment) - len(stripped)
        if padding > 2:
            raise DecodeError(f"Invalid {name} padding")
        if padding and len(segment) % 4 != 0:
            raise DecodeError(f"Invalid {name} padding")
        if len(stripped) % 4 == 1 or _BASE64URL.match(stripped) is None:
            raise DecodeError(f"Invalid {name} padding")
        try:
            decoded = base64url_decode(stripped)
        except (TypeError, binascii.Error) as err:
            raise DecodeError(f"Invalid {name} padding") from err
        if base64url_encode(decoded) != stripped:
            raise DecodeError(f"Invalid {name} padding")
        return decoded


class JwtCodec:
    """`encode`/`decode` as `jwt.encode`/`jwt.decode`, for one algorithm and one key."""

    def __init__(self, key: bytes, algorithm: str) -> None:
        self._allowed = [algorithm]  # the allow-list: the only algorithm registered and accepted
        jws = _Jws(algorithms=self._allowed)
        for name in self._allowed:
            default = jws.get_algorithm_by_name(name)
            if not isinstance(default, HMACAlgorithm):
                raise ValueError(f"{name} is not an HMAC algorithm")
            jws.unregister_algorithm(name)
            jws.register_algorithm(name, _OneKeyHmac(default.hash_alg, key))
        self._jwt = jwt.PyJWT()
        self._jwt._jws = jws  # as PyJWT wires its own module-level instances
        self._key = key
        self._algorithm = algorithm

    def encode(self, claims: dict[str, Any]) -> str:
        return self._jwt.encode(claims, self._key, algorithm=self._algorithm)

    def decode(self, token: str, **kwargs: Any) -> dict[str, Any]:
        return self._jwt.decode(token, self._key, algorithms=self._allowed, **kwargs)
