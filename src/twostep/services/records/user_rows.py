"""Reading users with their credentials."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, bindparam, select

from twostep.services.values import UserIdentity, UserRecord
from twostep.storage import tables as t

_uc = t.user_credentials.c
# The credentials columns that signing in uses.
_SIGN_IN_CREDENTIALS = (
    _uc.enabled,
    _uc.password_hash,
    _uc.password_set_time,
    _uc.failed_login_attempts,
    _uc.twofa_failed_attempts,
)
# Columns of a user row with its credentials (joined on CREDENTIALS_JOIN).
COLUMNS = (
    *t.user.c,
    *_SIGN_IN_CREDENTIALS,
    _uc.password_history,
    _uc.last_login_ts,
    _uc.activate_token_hash,
    _uc.twofa_saved,
)
# What signing in needs of a user: no JSON columns, no password history (hot paths parse no more
# than they use).
_u = t.user.c
SIGN_IN_COLUMNS = (
    *(_u.id, _u.tenant_id, _u.customer_id, _u.email, _u.authority, _u.first_name, _u.last_name),
    *_SIGN_IN_CREDENTIALS,
)
CREDENTIALS_JOIN = t.user.join(t.user_credentials, t.user_credentials.c.user_id == t.user.c.id)

# Built once: SQLAlchemy then reuses their compiled form without rebuilding them per call.
_BY_EMAIL = select(*COLUMNS).select_from(CREDENTIALS_JOIN).where(t.user.c.email == bindparam("b_email"))
_BY_ID = select(*COLUMNS).select_from(CREDENTIALS_JOIN).where(t.user.c.id == bindparam("b_id"))


def by_email(conn: Connection, email: str) -> Any:
    return conn.execute(_BY_EMAIL, {"b_email": email}).first()


def by_id(conn: Connection, user_id: uuid.UUID) -> Any:
    return conn.execute(_BY_ID, {"b_id": user_id}).first()


def identity(row: UserRecord) -> UserIdentity:
    return UserIdentity(
        id=row.id,
        email=row.email,
        authority=row.authority,
        tenant_id=row.tenant_id,
        customer_id=row.customer_id,
        first_name=row.first_name,
        last_name=row.last_name,
    )
