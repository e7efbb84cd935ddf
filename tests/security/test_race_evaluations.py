"""A4 (supplement to test_races.py): under a burst, no more codes are *evaluated* than the limit.

test_races.py counts the 400 answers; a request charged beyond the limit may still answer 401
(locked) after having compared its code, which a status count cannot see. Every evaluated wrong
code writes one failed-LOGIN audit entry ("Verification code is incorrect"), so the audit log
counts the evaluations: with a limit of 5, at most 5, whatever the interleaving.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from tests.security.helpers import INCORRECT, MAX_FAILURES, pv_of
from twostep.storage import tables as t

BURST = 30


def _burst(url: str, requests: list[tuple[dict[str, str], dict[str, str]]]) -> list[int]:
    barrier = threading.Barrier(len(requests))

    def one(item: tuple[dict[str, str], dict[str, str]]) -> int:
        headers, params = item
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            return http.post(
                "/api/auth/2fa/verification/check", headers=headers, params=params
            ).status_code

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


def test_a_burst_of_wrong_codes_is_evaluated_at_most_limit_times(
    container, client, live_server, victim
) -> None:  # type: ignore[no-untyped-def]
    tokens = [pv_of(client, victim) for _ in range(BURST)]
    guesses = [f"{i:06d}" for i in range(100, 100 + BURST)]
    statuses = _burst(
        live_server.url,
        [(pv, {"providerType": "TOTP", "verificationCode": g}) for pv, g in zip(tokens, guesses)],
    )
    with container.db.read() as conn:
        evaluated = conn.execute(
            select(func.count())
            .select_from(t.audit_log)
            .where(
                t.audit_log.c.entity_id == victim.id,
                t.audit_log.c.action_failure_details == INCORRECT,
            )
        ).scalar_one()
    assert evaluated <= MAX_FAILURES, (evaluated, statuses)
    assert statuses.count(400) <= MAX_FAILURES - 1, statuses
    r = client.post("/api/auth/login", json={"username": victim.email, "password": victim.password})
    assert r.status_code == 401
