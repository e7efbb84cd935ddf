"""Reading and writing a user's second factors (twofa_config rows), pruned on every read."""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from twostep.domain.ids import now_ms
from twostep.domain.twofa import account
from twostep.domain.twofa.account import Entry
from twostep.domain.twofa.platform import PlatformSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers.base import AttemptCode, BackupCodeUse, Consume, Tools, TotpStep
from twostep.storage import tables as t

_tc = t.twofa_config.c
# Hot-path statements are built once: SQLAlchemy then skips rebuilding and re-keying them.
_ROWS = select(t.twofa_config).where(_tc.user_id == bindparam("b_user")).order_by(_tc.position)
# A TOTP step is used at most once per config, and never one older than the last used.
_USE_TOTP_STEP = (
    update(t.twofa_config)
    .where(
        _tc.id == bindparam("b_config"),
        _tc.last_used_step.is_(None) | (_tc.last_used_step < bindparam("b_step")),
    )
    .values(last_used_step=bindparam("b_step"))
)


def rows(conn: Connection, user_id: uuid.UUID) -> list[Any]:
    return list(conn.execute(_ROWS, {"b_user": user_id}).all())


# For hot paths that read a user's configs in the statement that reads the user: outer-join
# `twofa_config` with these (prefixed) columns, order by CONFIG_ORDER, and take `joined_rows`.
_NAMES = tuple(c.name for c in t.twofa_config.c)
JOINED_COLUMNS = tuple(c.label(f"cfg_{c.name}") for c in t.twofa_config.c)
CONFIG_ORDER = _tc.position
ConfigRow = namedtuple("ConfigRow", _NAMES)  # type: ignore[misc]


_LABELS = tuple(f"cfg_{n}" for n in _NAMES)


def joined_rows(result_rows: Sequence[Any]) -> list[Any]:
    """The config rows carried by an outer join (none when the user has no config)."""
    return [
        ConfigRow(*(r._mapping[label] for label in _LABELS))
        for r in result_rows
        if r._mapping["cfg_id"] is not None
    ]


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
        backup_code_length=c.config.backup_code_length,
    )


def consume(conn: Connection, spec: Consume, now: int) -> bool:
    """Use a one-time secret: one conditional write whose row count says whether we won."""
    if isinstance(spec, TotpStep):
        used = conn.execute(_USE_TOTP_STEP, {"b_config": spec.config_id, "b_step": spec.step})
        return used.rowcount == 1
    if isinstance(spec, BackupCodeUse):
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
