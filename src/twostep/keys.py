"""Key material: from configuration, or generated once into the data directory (owner-only)."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from twostep.config import Config


@dataclass(frozen=True)
class Keys:
    jwt_signing: bytes = field(repr=False)
    encryption: bytes = field(repr=False)  # AES-256-GCM for secrets at rest
    code_hashing: bytes = field(repr=False)  # HMAC key for one-time codes and tokens at rest


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def _read_or_create(path: Path, nbytes: int) -> bytes:
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(nbytes)
    # When several workers or instances start at once, exactly one key wins and none is ever seen
    # half-written: each writes its own file in full, then links it into place (atomic; fails if
    # a key is already there, which is then read).
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(value).decode())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(staged, path)
        except FileExistsError:
            return base64.b64decode(path.read_text().strip())
        return value
    finally:
        staged.unlink(missing_ok=True)


def load_keys(config: Config) -> Keys:
    if config.jwt_signing_key:
        jwt_key = base64.b64decode(config.jwt_signing_key)
    else:
        jwt_key = _read_or_create(config.data_dir / "keys" / "jwt.key", 64)
    if config.encryption_key:
        master = base64.b64decode(config.encryption_key)
    else:
        master = _read_or_create(config.data_dir / "keys" / "master.key", 32)
    if len(jwt_key) < 64:
        raise ValueError("the JWT signing key must be at least 512 bits")
    if len(master) < 32:
        raise ValueError("the encryption key must be at least 256 bits")
    return Keys(
        jwt_signing=jwt_key,
        encryption=_derive(master, b"twostep secret box v1"),
        code_hashing=_derive(master, b"twostep code hashing v1"),
    )
