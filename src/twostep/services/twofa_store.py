"""Reading and writing a user's second factors (twofa_config rows), pruned on every read."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from twostep.domain.ids import now_ms
from twostep.domain.twofa import account
from twostep.domain.twofa.account import Entry
from twostep.domain.twofa.platform import PlatformSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers.base import AttemptCode, BackupCodeUse, Consume, Tools, TotpStep
from twostep.storage import tables as t


def rows(conn: Connection, user_id: uuid.UUID) -> list[Any]:
    return list(
        conn.execute(
            select(t.twofa_config)
            .where(t.twofa_config.c.user_id == user_id)
            .order_by(t.twofa_config.c.position)
        ).all()
    )


def entries(config_rows: list[Any]) -> list[Entry]:
    return [Entry(ProviderType(r.provider_type), r.use_by_default, r.position) for r in config_rows]


def apply(conn: Connection, user_id: uuid.UUID, before: list[Entry], after: list[Entry]) -> None:
    """Persist the difference between two entry lists (removals and default flags)."""
    keep = {e.type for e in after}
    gone = [e.type.value for e in before if e.type not in keep]
    if gone:
        conn.execute(
            delete(t.twofa_config).where(
                t.twofa_config.c.user_id == user_id, t.twofa_config.c.provider_type.in_(gone)
            )
        )
    old = {e.type: e.default for e in before}
    for e in after:
        if e.type in old and old[e.type] != e.default:
            conn.execute(
                update(t.twofa_config)
                .where(
                    t.twofa_config.c.user_id == user_id,
                    t.twofa_config.c.provider_type == e.type.value,
                )
                .values(use_by_default=e.default)
            )


def pruned_rows(
    conn: Connection, user_id: uuid.UUID, settings: PlatformSettings | None
) -> list[Any]:
    """The user's configs after ThingsBoard's pruning (§3.6), persisted when anything changed."""
    current = rows(conn, user_id)
    if not current:
        return current
    before = entries(current)
    after = account.prune(before, settings.provider_types if settings else [])
    if after != before:
        apply(conn, user_id, before, after)
        current = rows(conn, user_id)
    return current


def needs_pruning(config_rows: list[Any], settings: PlatformSettings | None) -> bool:
    if not config_rows:
        return False
    before = entries(config_rows)
    return account.prune(before, settings.provider_types if settings else []) != before


def next_position(conn: Connection, user_id: uuid.UUID) -> int:
    top = conn.execute(
        select(func.max(t.twofa_config.c.position)).where(t.twofa_config.c.user_id == user_id)
    ).scalar()
    return int(top or 0) + 1


def codes_left(conn: Connection, config_id: uuid.UUID) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(t.backup_code)
            .where(t.backup_code.c.config_id == config_id, t.backup_code.c.used_at.is_(None))
        ).scalar_one()
    )


def insert_config(
    conn: Connection, user_id: uuid.UUID, provider: ProviderType, position: int, **values: Any
) -> uuid.UUID:
    config_id = values.pop("id", None) or uuid.uuid4()
    conn.execute(
        t.twofa_config.insert().values(
            id=config_id,
            user_id=user_id,
            provider_type=provider.value,
            position=position,
            created_time=now_ms(),
            **values,
        )
    )
    return config_id


def tools(c: Any) -> Tools:
    return Tools(
        seal=lambda text, context: c.box.seal(text, context=context),
        open=lambda token, context: c.box.open(token, context=context),
        keyed_hash=lambda value, scope: c.codes.hash(value, scope=scope),
        same=c.codes.same,
        now_ms=now_ms(),
        drift_steps=c.config.totp_drift_steps,
    )


def consume(conn: Connection, spec: Consume, now: int) -> bool:
    """Use a one-time secret: one conditional write whose row count says whether we won."""
    if isinstance(spec, TotpStep):
        statement = (
            update(t.twofa_config)
            .where(
                t.twofa_config.c.id == spec.config_id,
                t.twofa_config.c.last_used_step.is_(None) | (t.twofa_config.c.last_used_step < spec.step),
            )
            .values(last_used_step=spec.step)
        )
    elif isinstance(spec, BackupCodeUse):
        statement = (
            update(t.backup_code)
            .where(
                t.backup_code.c.config_id == spec.config_id,
                t.backup_code.c.code_hash == spec.code_hash,
                t.backup_code.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
    else:
        assert isinstance(spec, AttemptCode)
        la = t.login_attempt.c
        statement = (
            update(t.login_attempt)
            .where(
                la.id == spec.attempt_id,
                la.code_provider == spec.provider.value,
                la.code_target == spec.target,
                la.code_hash == spec.code_hash,
                la.code_expires_at > now,
            )
            .values(code_hash=None, code_expires_at=None)
        )
    return conn.execute(statement).rowcount == 1
