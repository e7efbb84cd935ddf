"""Periodic work, safe on every instance at once: each row is claimed by one conditional UPDATE.

- A password-verified login whose second step expired unverified tells the account owner once.
- Expired sessions, login attempts and rate-limit windows are deleted.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, exists, select, update

from twostep.bootstrap import Container
from twostep.domain.ids import now_ms
from twostep.services.notifications import notices
from twostep.services.records import stored_settings, user_rows
from twostep.storage import tables as t

log = logging.getLogger("twostep.maintenance")
KEEP_MS = 24 * 3600 * 1000


def notify_expired_attempts(c: Container) -> int:
    now = now_ms()
    la = t.login_attempt.c
    with c.db.transaction() as conn:
        if not stored_settings.security_settings(conn).get("notifyOnFailedSecondFactor", True):
            return 0
        due = conn.execute(
            select(la.id).where(
                la.state == "ACTIVE", la.scope == "PRE_VERIFICATION_TOKEN", la.expires_at < now,
                la.notified.is_(False),
            ).limit(200)
        ).scalars().all()
    sent = 0
    for attempt_id in due:
        with c.db.transaction() as conn:
            claimed = conn.execute(
                update(t.login_attempt)
                .where(la.id == attempt_id, la.state == "ACTIVE", la.notified.is_(False))
                .values(state="EXPIRED", notified=True)
                .returning(la.user_id, la.client_address, la.user_agent)
            ).first()
            user = user_rows.by_id(conn, claimed.user_id) if claimed else None
        if claimed and user:
            notices.failed_second_step(
                c, user, client_address=claimed.client_address or "unknown", user_agent=claimed.user_agent,
                reason="the second step was not completed before the login expired",
            )
            sent += 1
    return sent


def purge(c: Container) -> None:
    now = now_ms()
    s, member = t.auth_session, t.auth_session.alias("member")
    # A sign-in's first session dates it (recent sign-in, maximum age) and says where it came
    # from: it stays while any session refreshed from it is still around.
    heads_live_family = exists().where(member.c.family_id == s.c.id, member.c.expires_at >= now - KEEP_MS)
    with c.db.transaction() as conn:
        conn.execute(delete(s).where(s.c.expires_at < now - KEEP_MS, ~heads_live_family))
        conn.execute(
            delete(t.login_attempt).where(
                t.login_attempt.c.expires_at < now - KEEP_MS, t.login_attempt.c.state != "ACTIVE"
            )
        )
        conn.execute(delete(t.rate_limit).where(t.rate_limit.c.expires_at < now - 60_000))
        conn.execute(delete(t.twofa_pending).where(t.twofa_pending.c.created_time < now - KEEP_MS))


def run_once(c: Container) -> dict[str, Any]:
    notified = notify_expired_attempts(c)
    purge(c)
    return {"notified": notified}
