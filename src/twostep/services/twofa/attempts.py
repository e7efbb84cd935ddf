"""The login attempt behind a restricted (2FA) token: when that token is still good.

A restricted token is bound to one `twofa_login_attempt` row (its `jti`); it works only while that
row belongs to the token's user, has the token's scope, is ACTIVE and has not expired. The columns
are labelled so that the same test applies to rows of other queries that join the attempt in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, select

from twostep.domain.ids import now_ms
from twostep.services.values import Claims
from twostep.storage import tables as t

_la = t.login_attempt.c

LIVENESS_COLUMNS = (
    _la.state.label("attempt_state"),
    _la.expires_at.label("attempt_expires_at"),
    _la.scope.label("attempt_scope"),
)

# The attempt named by a token, and only if it is that token's user's.
OF_TOKEN = and_(_la.id == bindparam("b_attempt"), _la.user_id == bindparam("b_user"))

LIVENESS = select(*LIVENESS_COLUMNS).where(OF_TOKEN)


def token_params(claims: Claims) -> dict[str, Any]:
    return {"b_attempt": claims.jti, "b_user": claims.user_id}


def is_live(row: Any, claims: Claims) -> bool:
    """`row` carries LIVENESS_COLUMNS (None when no attempt matched the token)."""
    return (
        row is not None
        and row.attempt_state == "ACTIVE"
        and row.attempt_scope == claims.authority.value
        and row.attempt_expires_at > now_ms()
    )


def ended_by_lockout(row: Any, claims: Claims) -> bool:
    """The token's attempt is the one whose failure locked the account (its state LOCKED); it
    stays dead, and is only told apart for the answer."""
    return (
        row is not None
        and row.attempt_state == "LOCKED"
        and row.attempt_scope == claims.authority.value
    )
