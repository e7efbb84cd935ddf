"""Reading users with their credentials."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select

from twostep.services.tokens import UserIdentity
from twostep.storage import tables as t

_USER_WITH_CREDENTIALS = select(
    t.user,
    t.user_credentials.c.enabled,
    t.user_credentials.c.password_hash,
    t.user_credentials.c.password_set_time,
    t.user_credentials.c.password_history,
    t.user_credentials.c.failed_login_attempts,
    t.user_credentials.c.twofa_failed_attempts,
    t.user_credentials.c.last_login_ts,
    t.user_credentials.c.activate_token_hash,
).join(t.user_credentials, t.user_credentials.c.user_id == t.user.c.id)


def by_email(conn: Connection, email: str) -> Any:
    return conn.execute(_USER_WITH_CREDENTIALS.where(t.user.c.email == email)).first()


def by_id(conn: Connection, user_id: uuid.UUID) -> Any:
    return conn.execute(_USER_WITH_CREDENTIALS.where(t.user.c.id == user_id)).first()


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
