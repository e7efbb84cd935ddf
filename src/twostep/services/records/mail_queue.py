"""A durable queue of mail to send after the request that asked for it.

A request that must not reveal what it did (a password-reset request answers the same for every
address) only adds a row here; a worker in every server process (web/app.py) claims due rows
and sends them. Rows live in the database, so they survive a restart and any instance may send
them; a claim is one conditional write (PostgreSQL: `FOR UPDATE SKIP LOCKED`, SQLite: its single
writer), so two workers never hold one row, and a claim is a lease, so the rows of a worker that
died are claimed again when it ends. Attempts are counted when claimed: a row is tried at most
MAX_ATTEMPTS times, with growing pauses, then dropped.

The payload is sealed (AES-GCM, bound to the row and its kind): a database dump does not tell who
asked for a password reset.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from twostep.bootstrap import Container
from twostep.domain.ids import now_ms
from twostep.storage import tables as t

MAX_ATTEMPTS = 5
FIRST_RETRY_MS = 30_000  # then x4 each time: 30 s, 2 min, 8 min, 32 min
# Longer than anything one mail can take (the SMTP timeout is capped at 60 s), so a claim never
# runs out under a worker that is still sending: only a dead worker's rows are claimed again.
LEASE_MS = 5 * 60_000

_q = t.mail_queue.c


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    claim_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempt: int  # 1 for the first


def _context(kind: str, row_id: uuid.UUID) -> str:
    return f"mail-queue:{kind}:{row_id}"


def enqueue(c: Container, kind: str, payload: dict[str, Any]) -> None:
    """Adds one mail, due now (committed when this returns)."""
    row_id = uuid.uuid4()
    now = now_ms()
    sealed = c.box.seal(json.dumps(payload), context=_context(kind, row_id))
    with c.db.transaction() as conn:
        conn.execute(
            t.mail_queue.insert().values(
                id=row_id, kind=kind, payload=sealed, created_time=now, due_at=now, attempts=0
            )
        )


def _claimable() -> Any:
    return (_q.due_at <= bindparam("b_now")) & (
        _q.claimed_until.is_(None) | (_q.claimed_until < bindparam("b_now"))
    )


_ANY_DUE = select(_q.id).where(_claimable()).limit(1)
# Skipped by other claimers while this transaction holds it (PostgreSQL); SQLite compiles no
# FOR UPDATE, its writers take turns.
_NEXT = (
    select(_q.id).where(_claimable()).order_by(_q.due_at).limit(1).with_for_update(skip_locked=True)
)
_CLAIM = (
    update(t.mail_queue)
    .where(_q.id == _NEXT.scalar_subquery(), _claimable())
    .values(
        claim_id=bindparam("b_claim"),
        claimed_until=bindparam("b_until"),
        attempts=_q.attempts + 1,
    )
    .returning(_q.id, _q.kind, _q.payload, _q.attempts)
)


def claim(c: Container) -> Claimed | None:
    """The next due row, held for LEASE_MS by the caller; None when nothing is due. A row whose
    payload no longer opens (another encryption key) is dropped."""
    now = now_ms()
    with c.db.read() as conn:  # idle workers only read: no write lock when there is nothing
        if conn.execute(_ANY_DUE, {"b_now": now}).first() is None:
            return None
    claim_id = uuid.uuid4()
    with c.db.transaction() as conn:
        row = conn.execute(
            _CLAIM, {"b_now": now, "b_claim": claim_id, "b_until": now + LEASE_MS}
        ).first()
    if row is None:
        return None
    try:
        payload = json.loads(c.box.open(row.payload, context=_context(row.kind, row.id)))
    except ValueError:
        finish(c, row.id, claim_id)
        raise UnreadableRow(row.id) from None
    return Claimed(row.id, claim_id, row.kind, payload, row.attempts)


class UnreadableRow(Exception):
    def __init__(self, row_id: uuid.UUID) -> None:
        super().__init__(f"mail queue row {row_id} does not open with this key; dropped")


def finish(c: Container, row_id: uuid.UUID, claim_id: uuid.UUID) -> None:
    """Sent (or given up): the row goes, if this worker still holds it."""
    with c.db.transaction() as conn:
        conn.execute(delete(t.mail_queue).where(_q.id == row_id, _q.claim_id == claim_id))


def retry_later(c: Container, item: Claimed) -> bool:
    """Releases the row for a later attempt; False (and the row dropped) after the last one."""
    if item.attempt >= MAX_ATTEMPTS:
        finish(c, item.id, item.claim_id)
        return False
    with c.db.transaction() as conn:
        conn.execute(
            update(t.mail_queue)
            .where(_q.id == item.id, _q.claim_id == item.claim_id)
            .values(
                due_at=now_ms() + FIRST_RETRY_MS * 4 ** (item.attempt - 1),
                claim_id=None,
                claimed_until=None,
            )
        )
    return True


def pending(c: Container) -> int:
    """Rows due now or held by a worker (not those waiting for a later retry)."""
    now = now_ms()
    due_or_held = (_q.due_at <= now) | (_q.claimed_until >= now)
    with c.db.read() as conn:
        return int(conn.execute(select(func.count()).where(due_or_held)).scalar_one())
