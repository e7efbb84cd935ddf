"""Helpers for the attack tests of spec/security.md §4.

Everything goes through real HTTP (the `client` TestClient or the `live_server` fixture) against
the real services and database; the helpers below only arrange state (users, enrollments) and
read raw rows for the at-rest checks. Nothing of src/ is mocked.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from tests.factories import bearer, create_user, oathtool
from tests.support import SYSADMIN_EMAIL, outbox
from tests.twofa_helpers import enroll_totp, full_headers, login
from twostep.domain.ids import new_id, now_ms
from twostep.keys import load_keys
from twostep.storage import tables as t
from twostep.storage.tables import metadata

EMAIL = "victim@example.com"
PASSWORD = "victim-Pa55word"
OTHER_EMAIL = "other@example.com"
OTHER_PASSWORD = "other-Pa55word"
MAX_FAILURES = 5

INCORRECT = "Verification code is incorrect"
LOCKED = "User account was locked due to exceeded 2FA verification attempts"
NOT_ACTIVE = "User account is not active"
INVALID = "Invalid username or password"
ERROR_KEYS = {"status", "message", "errorCode", "timestamp"}
JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")


@dataclass
class Account:
    """A user that finished enrollment, with everything a test needs to act as them."""

    id: uuid.UUID
    email: str
    password: str
    headers: dict[str, str]
    secret: str | None = None
    enrolled_at: float = 0.0
    backup_codes: list[str] = field(default_factory=list)


def make_account(
    container: Any,
    client: Any,
    email: str = EMAIL,
    password: str = PASSWORD,
    *,
    totp: bool = True,
    **kw: Any,
) -> Account:
    user_id = create_user(container, email, password, **kw)
    headers = full_headers(client, email, password)
    account = Account(user_id, email, password, headers)
    if totp:
        account.secret = enroll_totp(client, headers)
        account.enrolled_at = time.time()
    return account


def pv_of(client: Any, account: Account) -> dict[str, str]:
    body = login(client, account.email, account.password)
    assert body.get("scope") == "PRE_VERIFICATION_TOKEN", body
    return bearer(body["token"])


def check(
    client: Any, headers: dict[str, str], provider: str, code: str | None, **extra: Any
) -> Any:
    params = {"providerType": provider}
    if code is not None:
        params["verificationCode"] = code
    return client.post(
        "/api/auth/2fa/verification/check", headers={**headers, **extra}, params=params
    )


def send(client: Any, headers: dict[str, str], provider: str, **extra: Any) -> Any:
    return client.post(
        f"/api/auth/2fa/verification/send?providerType={provider}", headers={**headers, **extra}
    )


def wrong_totp(secret: str, at: float | None = None) -> str:
    """A six-digit code valid in none of the steps around `at`."""
    at = time.time() if at is None else at
    valid = {oathtool(secret, at + d) for d in (-90, -60, -30, 0, 30, 60)}
    for candidate in ("000000", "111111", "222222", "333333"):
        if candidate not in valid:
            return candidate
    raise AssertionError("unreachable")


def safe_step_time(margin: float = 2.0) -> float:
    """Now, unless the current 30 s step ends within `margin` seconds (then the next step)."""
    now = time.time()
    left = 30 - now % 30
    if left < margin:
        time.sleep(left + 0.05)
        now = time.time()
    return now


def codes_in_outbox(container: Any, to: str | None = None) -> list[str]:
    """Every six-digit code that went out (SMS and email), optionally only to one destination."""
    found = []
    for m in outbox(container.config):
        if to is not None and m["to"] != to:
            continue
        found += re.findall(r"(?<!\d)\d{6}(?!\d)", m["body"])
    return found


def last_message(container: Any, to: str) -> dict[str, Any]:
    return [m for m in outbox(container.config) if m["to"] == to][-1]


def last_code_to(container: Any, to: str) -> str:
    message = last_message(container, to)
    return re.findall(r"(?<!\d)\d{6}(?!\d)", message["body"])[0]


def credentials_row(container: Any, user_id: uuid.UUID) -> Any:
    with container.db.read() as conn:
        return conn.execute(
            select(t.user_credentials).where(t.user_credentials.c.user_id == user_id)
        ).first()


def expire_login_attempts(container: Any, user_id: uuid.UUID) -> None:
    """Stands in for waiting out totalAllowedTimeForVerification (at least 60 s)."""
    with container.db.transaction() as conn:
        conn.execute(
            update(t.login_attempt)
            .where(t.login_attempt.c.user_id == user_id)
            .values(expires_at=now_ms() - 1)
        )


def dump_database(container: Any) -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every non-null cell of every table: a database dump."""
    cells = []
    with container.db.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is not None:
                        cells.append((table.name, column, str(value)))
    return cells


def jwt_key(container: Any) -> bytes:
    return load_keys(container.config).jwt_signing


def create_customer_user(
    container: Any, tenant_id: uuid.UUID, email: str, password: str
) -> uuid.UUID:
    customer_id = new_id()
    with container.db.transaction() as conn:
        conn.execute(
            t.customer.insert().values(
                id=customer_id,
                created_time=now_ms(),
                tenant_id=tenant_id,
                title=f"C {email}",
                version=1,
            )
        )
    user_id = create_user(
        container, email, password, authority="CUSTOMER_USER", tenant_id=tenant_id
    )
    with container.db.transaction() as conn:
        conn.execute(update(t.user).where(t.user.c.id == user_id).values(customer_id=customer_id))
    return user_id


def sysadmin_id(container: Any) -> uuid.UUID:
    with container.db.read() as conn:
        return conn.execute(
            select(t.user.c.id).where(t.user.c.email == SYSADMIN_EMAIL)
        ).scalar_one()


def assert_error_shape(r: Any) -> None:
    """A failure answer is the bare error body: no token, no pair, nothing JWT-like."""
    body = r.json()
    assert set(body) == ERROR_KEYS, body
    assert not JWT_LIKE.search(r.text), r.text


def age_sign_in(container: Any, token: str, seconds: int) -> None:
    """Move the sign-in behind an access token (the first session of its family) into the past."""
    session_id = container.tokens.decode(token).session_id
    s = t.auth_session
    with container.db.transaction() as conn:
        family = conn.execute(select(s.c.family_id).where(s.c.id == session_id)).scalar_one()
        conn.execute(
            update(s).where(s.c.id == family).values(created_time=s.c.created_time - seconds * 1000)
        )
