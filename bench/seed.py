"""Seeding the benchmark database through twostep's own code (same data dir, same keys).

Every bench user has the same password (one argon2id hash, made once with the configured
parameters and reused) and a TOTP second factor whose secret is derived from the user's number,
so codes can be computed later without storing secrets anywhere. Secrets are stored as twostep
stores them: sealed with `container.box` under the context `totp:<config id>`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyotp
from sqlalchemy import func, select

from twostep.bootstrap import Container
from twostep.domain.authority import Authority
from twostep.domain.ids import NULL_UUID, now_ms
from twostep.services.operations.setup import initialize
from twostep.services.records import user_rows
from twostep.services.twofa import platform_settings
from twostep.storage import tables as t

PASSWORD = "bench-Pa55word!"
TENANT_TITLE = "bench tenant"
PLATFORM = {
    "providers": [
        {"providerType": "TOTP", "issuerName": "twostep-bench"},
        {"providerType": "BACKUP_CODE", "codesQuantity": 10},
    ],
    "minVerificationCodeSendPeriod": 30,
    # ThingsBoard's default check rate limit: every check also counts in the limiter (Redis or DB).
    "verificationCodeCheckRateLimit": "3:900",
    "maxVerificationFailuresBeforeUserLockout": 100,
    "totalAllowedTimeForVerification": 3600,
    "enforceTwoFa": False,
    "enforcedUsersFilter": None,
}


def email(i: int) -> str:
    return f"u{i:07d}@bench.test"


def secret(i: int) -> str:
    """32 base32 characters (160 bits), derived from the user number (bench only)."""
    return base64.b32encode(hashlib.sha1(f"twostep-bench-{i}".encode()).digest()).decode()


def code(i: int, step: int) -> str:
    return pyotp.TOTP(secret(i)).at(step * 30)


def prepare(c: Container) -> uuid.UUID:
    """Schema, sysadmin, platform 2FA settings, one tenant; returns the tenant id."""
    initialize(c, announce=lambda email, password: None)
    platform_settings.save(c, PLATFORM)
    with c.db.transaction() as conn:
        tenant_id = conn.execute(
            select(t.tenant.c.id).where(t.tenant.c.title == TENANT_TITLE)
        ).scalar()
        if tenant_id is None:
            profile = conn.execute(
                select(t.tenant_profile.c.id).where(t.tenant_profile.c.is_default.is_(True))
            ).scalar_one()
            tenant_id = uuid.uuid4()
            conn.execute(
                t.tenant.insert().values(
                    id=tenant_id,
                    created_time=now_ms(),
                    title=TENANT_TITLE,
                    region="Global",
                    tenant_profile_id=profile,
                    version=1,
                )
            )
    return tenant_id


def user_count(c: Container) -> int:
    with c.db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(t.user).where(t.user.c.email.like("u%@bench.test"))
            ).scalar_one()
        )


@dataclass
class _Row:
    user_id: uuid.UUID
    config_id: uuid.UUID
    email: str
    sealed: str


def _rows(c: Container, numbers: Iterable[int]) -> Iterable[_Row]:
    for i in numbers:
        config_id = uuid.uuid4()
        yield _Row(
            uuid.uuid4(), config_id, email(i), c.box.seal(secret(i), context=f"totp:{config_id}")
        )


def seed(
    c: Container,
    tenant_id: uuid.UUID,
    start: int,
    stop: int,
    *,
    batch: int = 50_000,
    analyze: bool = True,
) -> float:
    """Users start..stop-1 with password and TOTP; COPY on PostgreSQL, executemany on SQLite.
    Returns the seconds it took."""
    t0 = time.perf_counter()
    password_hash = c.passwords.hash(PASSWORD)
    now = now_ms()
    for lo in range(start, stop, batch):
        rows = list(_rows(c, range(lo, min(stop, lo + batch))))
        if c.db.is_sqlite:
            _insert_sqlite(c, rows, tenant_id, password_hash, now)
        else:
            _copy_pg(c, rows, tenant_id, password_hash, now)
    if analyze and not c.db.is_sqlite:
        with c.db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in ("tb_user", "user_credentials", "twofa_config"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {name}")
    return time.perf_counter() - t0


def _insert_sqlite(
    c: Container, rows: Sequence[_Row], tenant_id: uuid.UUID, pw: str, now: int
) -> None:
    with c.db.transaction() as conn:
        conn.execute(
            t.user.insert(),
            [
                dict(
                    id=r.user_id,
                    created_time=now,
                    tenant_id=tenant_id,
                    customer_id=NULL_UUID,
                    email=r.email,
                    authority="TENANT_ADMIN",
                    additional_info={},
                    version=1,
                )
                for r in rows
            ],
        )
        conn.execute(
            t.user_credentials.insert(),
            [
                dict(
                    user_id=r.user_id,
                    enabled=True,
                    password_hash=pw,
                    password_set_time=now,
                    password_history=[],
                    failed_login_attempts=0,
                    twofa_failed_attempts=0,
                )
                for r in rows
            ],
        )
        conn.execute(
            t.twofa_config.insert(),
            [
                dict(
                    id=r.config_id,
                    user_id=r.user_id,
                    provider_type="TOTP",
                    position=1,
                    use_by_default=True,
                    created_time=now,
                    totp_secret_enc=r.sealed,
                    totp_issuer="twostep-bench",
                )
                for r in rows
            ],
        )


def _copy_pg(c: Container, rows: Sequence[_Row], tenant_id: uuid.UUID, pw: str, now: int) -> None:
    users = io.StringIO()
    creds = io.StringIO()
    configs = io.StringIO()
    for r in rows:
        users.write(
            f"{r.user_id}\t{now}\t{tenant_id}\t{NULL_UUID}\t{r.email}\tTENANT_ADMIN\t{{}}\t1\n"
        )
        creds.write(f"{r.user_id}\tt\t{pw}\t{now}\t[]\t0\t0\n")
        configs.write(f"{r.config_id}\t{r.user_id}\tTOTP\t1\tt\t{now}\t{r.sealed}\ttwostep-bench\n")
    raw = c.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for sql, buf in (
            (
                "COPY tb_user (id, created_time, tenant_id, customer_id, email, authority, "
                "additional_info, version) FROM STDIN",
                users,
            ),
            (
                "COPY user_credentials (user_id, enabled, password_hash, password_set_time, "
                "password_history, failed_login_attempts, twofa_failed_attempts) FROM STDIN",
                creds,
            ),
            (
                "COPY twofa_config (id, user_id, provider_type, position, use_by_default, "
                "created_time, totp_secret_enc, totp_issuer) FROM STDIN",
                configs,
            ),
        ):
            with cur.copy(sql) as cp:
                cp.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()


def users_by_number(c: Container, numbers: Sequence[int]) -> list[tuple[int, object]]:
    """(number, user row) for the given user numbers."""
    wanted = {email(i): i for i in numbers}
    found: list[tuple[int, object]] = []
    keys = list(wanted)
    with c.db.read() as conn:
        for lo in range(0, len(keys), 5000):
            chunk = keys[lo : lo + 5000]
            for row in conn.execute(
                select(*user_rows.COLUMNS).select_from(user_rows.CREDENTIALS_JOIN).where(t.user.c.email.in_(chunk))
            ):
                found.append((wanted[row.email], row))
    found.sort(key=lambda p: p[0])
    return found


def mint(
    c: Container, users: Sequence[tuple[int, object]], ttl: int = 3600
) -> list[tuple[int, str]]:
    """A live login attempt and its pre-verification JWT for each user, as `_restricted` makes
    them after a correct password. Returns (number, token)."""
    now = now_ms()
    out: list[tuple[int, str]] = []
    rows = []
    for i, user in users:
        attempt_id = uuid.uuid4()
        rows.append(
            dict(
                id=attempt_id,
                user_id=user.id,
                scope=Authority.PRE_VERIFICATION_TOKEN.value,
                created_time=now,
                expires_at=now + ttl * 1000,
                state="ACTIVE",
                client_address="127.0.0.1",
                user_agent="wrk",
                failures=0,
                notified=False,
            )
        )
        token = c.tokens.issue_restricted(
            user_rows.identity(user),
            Authority.PRE_VERIFICATION_TOKEN,
            jti=attempt_id,
            issued_ms=now,
            ttl=ttl,
        )
        out.append((i, token))
    with c.db.transaction() as conn:
        for lo in range(0, len(rows), 10_000):
            conn.execute(t.login_attempt.insert(), rows[lo : lo + 10_000])
    return out
