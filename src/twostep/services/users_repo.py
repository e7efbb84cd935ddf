"""Reading users with their credentials."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, bindparam, select

from twostep.services.tokens import UserIdentity
from twostep.storage import tables as t

# Columns of a user row with its credentials (joined on CREDENTIALS_JOIN).
COLUMNS = (
    *t.user.c,
    t.user_credentials.c.enabled,
    t.user_credentials.c.password_hash,
    t.user_credentials.c.password_set_time,
    t.user_credentials.c.password_history,
    t.user_credentials.c.failed_login_attempts,
    t.user_credentials.c.twofa_failed_attempts,
    t.user_credentials.c.last_login_ts,
    t.user_credentials.c.activate_token_hash,
)
# What signing in needs of a user: no JSON columns, no password history (hot paths parse no more
# than they use).
SIGN_IN_COLUMNS = (
    t.user.c.id,
    t.user.c.tenant_id,
    t.user.c.customer_id,
    t.user.c.email,
    t.user.c.authority,
    t.user.c.first_name,
    t.user.c.last_name,
    t.user_credentials.c.enabled,
    t.user_credentials.c.password_hash,
    t.user_credentials.c.password_set_time,
    t.user_credentials.c.failed_login_attempts,
    t.user_credentials.c.twofa_failed_attempts,
)
CREDENTIALS_JOIN = t.user.join(t.user_credentials, t.user_credentials.c.user_id == t.user.c.id)

# Built once: SQLAlchemy then reuses their compiled form without rebuilding them per call.
_BY_EMAIL = select(*COLUMNS).select_from(CREDENTIALS_JOIN).where(t.user.c.email == bindparam("b_email"))
_BY_ID = select(*COLUMNS).select_from(CREDENTIALS_JOIN).where(t.user.c.id == bindparam("b_id"))


def by_email(conn: Connection, email: str) -> Any:
    return conn.execute(_BY_EMAIL, {"b_email": email}).first()


def by_id(conn: Connection, user_id: uuid.UUID) -> Any:
    return conn.execute(_BY_ID, {"b_id": user_id}).first()


def identity(row: Any) -> UserIdentity:
    return UserIdentity(
        id=row.id,
        email=row.email,
        authority=row.authority,
        tenant_id=row.tenant_id,
        customer_id=row.customer_id,
        first_name=row.first_name,
        last_name=row.last_name,
    )
