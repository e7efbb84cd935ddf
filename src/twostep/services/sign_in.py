"""What a verified password (or an activation) earns, issued in the transaction that decides it.

A full token pair, a pre-verification token (the user has 2FA) or a configuration token (2FA is
enforced and nothing is set up yet). Every issuing transaction first confirms, on the user's
credentials row, that the credentials are still enabled: a lockout or a disabling locks the same
row, so whichever commits first wins and a pair is never issued after the lock has committed (on
PostgreSQL the row lock orders them across instances; SQLite's writers are serialised).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select, update

from twostep.bootstrap import Container
from twostep.domain.authority import Authority
from twostep.domain.ids import now_ms
from twostep.domain.twofa.platform import PlatformSettings
from twostep.services import audit, twofa_settings, twofa_store, users_repo
from twostep.services.audit import login_data
from twostep.storage import tables as t

_uc = t.user_credentials.c
_NEW_ATTEMPT = t.login_attempt.insert()  # built once; rows go in as parameters


class AccountClosed(Exception):
    """The credentials were disabled (locked) before anything could be issued."""


def confirm_enabled(conn: Connection, user_id: uuid.UUID, **values: Any) -> bool:
    """Lock the user's credentials row and confirm they are enabled, writing `values` if so.

    Lockout, disabling and every transaction that issues tokens or changes 2FA for the user take
    this row first, so they queue on it (and never deadlock on other rows)."""
    changes = values or {"enabled": True}  # a no-op write still takes the row lock
    done = conn.execute(
        update(t.user_credentials)
        .where(_uc.user_id == user_id, _uc.enabled.is_(True))
        .values(**changes)
    ).rowcount
    return done == 1  # type: ignore[no-any-return]


def is_enforced(conn: Connection, settings: PlatformSettings | None, user: Any) -> bool:
    if settings is None or not settings.enforce or settings.users_filter is None:
        return False
    profile_id = None
    if settings.users_filter.tenant_profile_ids:
        profile_id = conn.execute(
            select(t.tenant.c.tenant_profile_id).where(t.tenant.c.id == user.tenant_id)
        ).scalar()
    return settings.users_filter.matches(
        authority=user.authority, tenant_id=user.tenant_id, tenant_profile_id=profile_id
    )


def issue_full(c: Container, conn: Connection, user: Any, client: Any, **audit_extra: Any) -> dict[str, str]:
    """The normal token pair, LOGIN audited and lastLoginTs set, in the caller's transaction (which
    has confirmed the credentials)."""
    pair = c.tokens.issue_pair(users_repo.identity(user), conn=conn, client=client)
    conn.execute(
        update(t.user_credentials).where(_uc.user_id == user.id).values(last_login_ts=now_ms())
    )
    audit.record_user_event(
        conn, user, "LOGIN", login_data(client.address, client.user_agent, **audit_extra)
    )
    return pair


def restricted(
    c: Container,
    conn: Connection,
    user: Any,
    scope: Authority,
    settings: PlatformSettings | None,
    client: Any,
) -> dict[str, Any]:
    """A pre-verification or configuration token, bound to a new login attempt."""
    now = now_ms()
    ttl = settings.token_lifetime if settings else 1800
    attempt_id = uuid.uuid4()
    conn.execute(
        _NEW_ATTEMPT,
        {
            "id": attempt_id,
            "user_id": user.id,
            "scope": scope.value,
            "created_time": now,
            "expires_at": now + ttl * 1000,
            "state": "ACTIVE",
            "client_address": client.address,
            "user_agent": (client.user_agent or "")[:512],
            "failures": 0,
            "notified": False,
            "enrolled": False,
        },
    )
    token = c.tokens.issue_restricted(
        users_repo.identity(user), scope, jti=attempt_id, issued_ms=now, ttl=ttl
    )
    return {"token": token, "scope": scope.value, "refreshToken": None}


def admit(
    c: Container,
    user: Any,
    client: Any,
    settings: PlatformSettings | None,
    configs: list[Any],
    **credential_values: Any,
) -> dict[str, Any]:
    """PRE_VERIFICATION_TOKEN for users with 2FA, MFA_CONFIGURATION_TOKEN under enforcement,
    otherwise the normal pair; `settings` and `configs` were read with the user, and
    `credential_values` (a reset failure count, an upgraded hash) are written with the decision.
    AccountClosed when the credentials are no longer enabled."""
    with c.db.transaction() as conn:
        if not confirm_enabled(conn, user.id, **credential_values):
            raise AccountClosed()
        if twofa_store.needs_pruning(configs, settings):
            configs = twofa_store.pruned_rows(conn, user.id, settings)
        if configs:
            return restricted(c, conn, user, Authority.PRE_VERIFICATION_TOKEN, settings, client)
        if is_enforced(conn, settings, user):
            return restricted(c, conn, user, Authority.MFA_CONFIGURATION_TOKEN, settings, client)
        return issue_full(c, conn, user, client)


def after_activation(c: Container, user: Any, client: Any) -> dict[str, Any]:
    """A newly activated user signs in at once: a configuration token under enforcement (the
    LOGIN is audited then, as the password was just set), otherwise the normal pair."""
    with c.db.transaction() as conn:
        if not confirm_enabled(conn, user.id):
            raise AccountClosed()
        settings = twofa_settings.load(conn)
        if is_enforced(conn, settings, user):
            audit.record_user_event(
                conn, user, "LOGIN", login_data(client.address, client.user_agent)
            )
            return restricted(c, conn, user, Authority.MFA_CONFIGURATION_TOKEN, settings, client)
        return issue_full(c, conn, user, client)
