"""Deploy-time configuration, read from TWOSTEP_* environment variables.

Runtime settings edited by the sysadmin (2FA platform settings, security settings, mail/SMS) live in
the database, never here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWOSTEP_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: SQLite file in data_dir
    redis_url: str | None = None

    sysadmin_email: str | None = None
    sysadmin_password: str | None = None

    # Keys: base64 values from the environment, or generated once into data_dir (mode 0600).
    jwt_signing_key: str | None = None
    encryption_key: str | None = None

    jwt_issuer: str = "thingsboard.io"
    access_token_ttl: int = 9000
    refresh_token_ttl: int = 604800

    # argon2id parameters (OWASP / ASVS appendix C profile by default)
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    # TOTP acceptance window: how many steps back from the current one are accepted.
    totp_drift_steps: int = Field(default=1, ge=0, le=2)

    # Development-only delivery: write every email/SMS to <data_dir>/outbox.jsonl instead of sending.
    outbox: bool = False

    # Base URL used in links sent by email; when unset, built from the request.
    base_url: str | None = None

    # Number of reverse proxies in front of the server whose X-Forwarded-For is trusted.
    trusted_proxy_hops: int = 0

    max_body_bytes: int = 65536
    log_level: str = "INFO"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'twostep.db').resolve()}"
