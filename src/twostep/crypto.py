"""Cryptographic helpers: password hashing, authenticated encryption, keyed hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PasswordHasher:
    """argon2id. Unknown users are verified against a dummy hash so they take as long as known ones.

    At most `concurrency` hashes run at once in this process: more than the cores can run only
    thrash the caches (each hash walks its own `memory_kib`) and add that much resident memory
    per waiting request; the others wait for their turn without using the CPU."""

    def __init__(
        self, *, memory_kib: int, time_cost: int, parallelism: int, concurrency: int = 1
    ) -> None:
        self._ph = _Argon2(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._turns = threading.BoundedSemaphore(concurrency)
        self._dummy = self._ph.hash(base64.b64encode(os.urandom(24)).decode())

    def hash(self, password: str) -> str:
        with self._turns:
            return self._ph.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            with self._turns:
                return self._ph.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._ph.check_needs_rehash(stored)


class SecretBox:
    """AES-256-GCM with a random nonce; the associated data binds a ciphertext to its row."""

    PREFIX = "v1:"

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return self.PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, token: str, *, context: str) -> str:
        if not token.startswith(self.PREFIX):
            raise ValueError("unknown ciphertext format")
        raw = base64.b64decode(token[len(self.PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("ciphertext does not authenticate") from exc


class CodeHasher:
    """Keyed hashes (HMAC-SHA256) of one-time codes and bearer tokens stored at rest.

    The key lives outside the database, so a dump alone yields nothing usable; binding the hash to a
    scope (user, login attempt) makes equal codes of different users hash differently.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def hash(self, value: str, *, scope: str) -> str:
        return hmac.new(self._key, f"{scope}\x00{value}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def same(a: str | None, b: str | None) -> bool:
        if a is None or b is None:
            return False
        return hmac.compare_digest(a.encode(), b.encode())
