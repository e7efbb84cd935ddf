"""Deploy-time configuration, read from TWOSTEP_* environment variables.

Runtime settings edited by the sysadmin (2FA platform settings, security settings, mail/SMS) live in
the database, never here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWOSTEP_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: SQLite file in data_dir
    redis_url: str | None = None
    # PostgreSQL connections kept per worker process (10 more open under bursts). Size it to
    # the requests a worker serves at once; max_connections must cover workers x (size + 10).
    db_pool_size: int = Field(default=20, ge=1, le=200)

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
    # argon2id hashes computed at once per worker process. Default: the cores this process may
    # use divided among the workers (`twostep serve --workers N` passes N on as TWOSTEP_WORKERS).
    hash_concurrency: int | None = Field(default=None, ge=1, le=256)
    workers: int = Field(default=1, ge=1, le=256)
    # Threads per worker process for blocking work (database, Redis, argon2id, deliveries):
    # anyio's default of 40. Fewer threads contend less for the GIL: at 1, a 2-core SQLite
    # deployment served 1.3-1.5x the second-step checks in the bench (docs/benchmarks.md), but
    # every blocking call of a worker then waits for the one before it, a slow mail or SMS
    # gateway included.
    threads: int = Field(default=40, ge=1, le=1000)

    # TOTP acceptance window: how many steps back from the current one are accepted.
    totp_drift_steps: int = Field(default=1, ge=0, le=2)
    # Hex characters of newly generated backup codes: ThingsBoard's 8 (32 bits, what its login
    # form accepts) up to 32 (128 bits, usable from twostep's own pages and the API only).
    backup_code_length: int = Field(default=8, ge=8, le=32)
    # Changing 2FA (enrol, remove, change the default, an administrator's reset) or an email
    # address needs a sign-in at most this many seconds old (ASVS 7.5.1); refreshing a token or
    # changing the password does not renew it.
    reauth_window_s: int = Field(default=300, ge=30, le=86_400)
    # A sign-in ends this many seconds after it began, however often its tokens are refreshed
    # (ASVS 7.3.2; NIST SP 800-63B-4 2.2.3: at most 24 h at AAL2); 0 for no limit.
    sign_in_max_age_s: int = Field(default=86_400, ge=0, le=31_536_000)
    # Seconds in which a refresh token that was just exchanged answers the same new pair again
    # (two tabs refreshing at once) instead of being taken for stolen; 0 turns the grace off.
    refresh_grace_s: int = Field(default=10, ge=0, le=60)

    # Development-only delivery: write every email/SMS to <data_dir>/outbox.jsonl instead of sending.
    outbox: bool = False

    # Base URL used in links sent by email; when unset, built from the request.
    base_url: str | None = None

    # Number of reverse proxies in front of the server whose X-Forwarded-For is trusted.
    trusted_proxy_hops: int = 0

    max_body_bytes: int = 65536
    # Bearer token that GET /metrics requires (Authorization: Bearer <token>). Unset: /metrics
    # answers 401 to everyone (its counters tell login and lockout rates to whoever asks).
    metrics_token: str | None = Field(default=None, min_length=16, max_length=256)
    # Seconds between maintenance rounds (expired-login notifications, purges); 0 turns them off.
    maintenance_interval_s: int = 30
    # Seconds between two rounds of the mail queue's worker in each server process (queued mail:
    # password-reset requests); 0: this process sends none (another instance must).
    mail_queue_interval_s: float = Field(default=1.0, ge=0, le=300)
    log_level: str = "INFO"

    # --- Delivery (issue 4) -------------------------------------------------------------------
    # PEM file of extra CAs trusted for SMTP TLS (STARTTLS / smtps), on top of the system store;
    # for a mail server with a private CA. Certificates are always verified.
    smtp_ca_file: str | None = None
    # Deadline for one SMS send (Twilio, AWS SNS, SMPP), seconds. Mail uses the `timeout` of the
    # stored mail settings (ms, capped at 60 s).
    sms_timeout_s: float = Field(default=10.0, gt=0, le=60)

    # Send caps against SMS pumping and mail flooding (services/notifications/send_caps.py). Each is a fixed
    # window "count:seconds"; "" or "0:0" turns that cap off. Checked before every 2FA code send.
    #   per_user: sends to one user; per_destination: to one phone number / email address;
    #   per_client: from one client address; per_block (SMS): to numbers that differ only in the
    #   last three digits (sequential premium numbers); per_country (SMS): to one country calling
    #   code; global: all sends of this channel (a budget).
    sms_cap_per_user: str = "10:3600"
    sms_cap_per_destination: str = "5:3600"
    sms_cap_per_client: str = "20:3600"
    sms_cap_per_block: str = "20:3600"
    sms_cap_per_country: str = "200:3600"
    sms_cap_global: str = "1000:86400"
    email_cap_per_user: str = "20:3600"
    email_cap_per_destination: str = "20:3600"
    email_cap_per_client: str = "50:3600"
    email_cap_global: str = "5000:86400"
    # Comma-separated country calling codes SMS may go to (e.g. "1,44,49"); "" allows all.
    sms_allowed_country_codes: str = ""

    @field_validator(
        "sms_cap_per_user", "sms_cap_per_destination", "sms_cap_per_client", "sms_cap_per_block",
        "sms_cap_per_country", "sms_cap_global", "email_cap_per_user",
        "email_cap_per_destination", "email_cap_per_client", "email_cap_global",
    )  # fmt: skip
    @classmethod
    def _send_cap_syntax(cls, value: str) -> str:
        if not re.fullmatch(r"\s*(\d+:\d+)?\s*", value):
            raise ValueError("a send cap is 'count:seconds' (or empty for no cap)")
        return value

    @field_validator("sms_allowed_country_codes")
    @classmethod
    def _country_codes_syntax(cls, value: str) -> str:
        if not re.fullmatch(r"\s*(\+?\d{1,6}\s*(,\s*\+?\d{1,6}\s*)*)?", value):
            raise ValueError("a comma-separated list of country calling codes is expected")
        return value

    def resolved_hash_concurrency(self) -> int:
        if self.hash_concurrency:
            return self.hash_concurrency
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return max(1, (cores or 1) // self.workers)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'twostep.db').resolve()}"
