"""The composition root: the one place that builds adapters from configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from twostep.config import Config
from twostep.crypto import CodeHasher, PasswordHasher, SecretBox
from twostep.keys import load_keys
from twostep.services.ports import CodeHashing, Delivery, Limiter, PasswordHashing, Sealing
from twostep.services.sessions.tokens import TokenService
from twostep.storage.db import Database, make_engine


@dataclass
class Container:
    config: Config
    db: Database
    passwords: PasswordHashing = field(repr=False)
    box: Sealing = field(repr=False)
    codes: CodeHashing = field(repr=False)
    tokens: TokenService = field(repr=False)
    limiter: Limiter = field(repr=False)
    delivery: Delivery = field(repr=False)

    def close(self) -> None:
        self.db.dispose()
        closer = getattr(self.limiter, "close", None)
        if closer:
            closer()


def build(config: Config) -> Container:
    from twostep.channels.delivery import build_delivery
    from twostep.state import build_limiter

    keys = load_keys(config)
    db = Database(make_engine(config.resolved_database_url(), config.db_pool_size))
    return Container(
        config=config,
        db=db,
        passwords=PasswordHasher(
            memory_kib=config.argon2_memory_kib,
            time_cost=config.argon2_time_cost,
            parallelism=config.argon2_parallelism,
            concurrency=config.resolved_hash_concurrency(),
        ),
        box=SecretBox(keys.encryption),
        codes=CodeHasher(keys.code_hashing),
        tokens=TokenService(
            db,
            keys.jwt_signing,
            issuer=config.jwt_issuer,
            access_ttl=config.access_token_ttl,
            refresh_ttl=config.refresh_token_ttl,
            sign_in_max_age=config.sign_in_max_age_s,
            box=SecretBox(keys.encryption),
            refresh_grace=config.refresh_grace_s,
        ),
        limiter=build_limiter(config, db),
        delivery=build_delivery(config, db, SecretBox(keys.encryption)),
    )
