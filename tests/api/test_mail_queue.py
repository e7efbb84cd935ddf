"""The mail queue (services/records/mail_queue.py, services/operations/mail_worker.py) behind password-reset
requests: durable across a restart, each mail sent once however many workers drain at once,
bounded retries, the per-address limit decided by the worker, nothing readable at rest."""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.delivery.helpers import mail_settings, save_settings
from tests.factories import create_user
from tests.security.helpers import dump_database
from tests.support import deliver_queued_mail, free_port, outbox
from twostep.bootstrap import build
from twostep.channels.delivery import Delivery
from twostep.domain.ids import now_ms
from twostep.services.operations.mail_worker import drain_once
from twostep.services.records import mail_queue
from twostep.services.signin import passwords
from twostep.storage import tables as t

EMAIL = "reset.me@example.com"
BASE = "https://2fa.example.com"


def _request(container: Any, email: str = EMAIL) -> None:
    passwords.request_password_reset(container, email=email, base_url=BASE)


def _rows(container: Any) -> list[Any]:
    with container.db.read() as conn:
        return list(conn.execute(select(t.mail_queue)).all())


def _mails_to(container: Any, email: str) -> list[str]:
    return [m["body"] for m in outbox(container.config) if m["to"] == email]


def _make_due(container: Any) -> None:
    """Skips the pause before the next attempt."""
    with container.db.transaction() as conn:
        conn.execute(update(t.mail_queue).values(due_at=0))


def test_a_queued_request_survives_a_restart(container) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, "reset-Pa55word")
    _request(container)
    assert _mails_to(container, EMAIL) == []
    restarted = build(container.config)  # another process: its own engine, the same database
    try:
        assert drain_once(restarted) == 1
    finally:
        restarted.close()
    [body] = _mails_to(container, EMAIL)
    assert re.search(rf"{re.escape(BASE)}/api/noauth/resetPassword\?resetToken=[\w-]{{40}}", body)
    assert _rows(container) == []


def test_parallel_workers_send_each_mail_once(container, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Four instances (their own engines) with two workers each drain 24 rows at once; a slow
    transport keeps rows in flight while the others claim."""
    users = [f"user{i}@example.com" for i in range(12)]
    for email in users:
        create_user(container, email, "reset-Pa55word")
        _request(container, email)
        _request(container, "nobody." + email)
    real_send = Delivery.send_email

    def slow_send(self: Delivery, to: str, template: str, context: dict[str, Any]) -> None:
        time.sleep(0.02)
        real_send(self, to, template, context)

    monkeypatch.setattr(Delivery, "send_email", slow_send)
    instances = [build(container.config) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            handled = list(pool.map(lambda i: drain_once(instances[i % 4]), range(8)))
    finally:
        for instance in instances:
            instance.close()
    assert sum(handled) == 24, handled
    assert sorted(m["to"] for m in outbox(container.config)) == sorted(users)
    assert _rows(container) == []


def test_a_row_held_by_a_live_worker_is_not_taken_and_a_dead_workers_row_is(container) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, "reset-Pa55word")
    _request(container)
    held = mail_queue.claim(container)  # a worker that is sending it
    assert held is not None and held.attempt == 1
    assert drain_once(container) == 0
    with container.db.transaction() as conn:  # that worker died: its lease runs out
        conn.execute(update(t.mail_queue).values(claimed_until=now_ms() - 1))
    assert drain_once(container) == 1
    assert len(_mails_to(container, EMAIL)) == 1
    mail_queue.finish(container, held.id, held.claim_id)  # the dead worker's late finish: no-op
    assert _rows(container) == []


def test_a_failing_mail_is_retried_a_bounded_number_of_times_then_dropped(
    container, caplog
) -> None:  # type: ignore[no-untyped-def]
    container.config.outbox = False
    save_settings(container, "mail", mail_settings(free_port(), timeout="500"))  # nobody listens
    create_user(container, EMAIL, "reset-Pa55word")
    _request(container)
    caplog.set_level(logging.WARNING)
    pauses = []
    for attempt in range(1, mail_queue.MAX_ATTEMPTS + 1):
        _make_due(container)
        assert drain_once(container) == 1
        rows = _rows(container)
        if attempt < mail_queue.MAX_ATTEMPTS:
            [row] = rows
            assert row.attempts == attempt and row.claim_id is None
            pauses.append(row.due_at - now_ms())
        else:
            assert rows == []
    assert drain_once(container) == 0
    # 30 s, 2 min, 8 min, 32 min: the last attempt about 42 minutes after the request.
    assert [round(p / 1000, -1) for p in pauses] == [30, 120, 480, 1920], pauses
    assert "given up" in caplog.text
    assert EMAIL not in caplog.text and "resetToken" not in caplog.text


def test_the_worker_decides_the_per_address_limit(container, client) -> None:  # type: ignore[no-untyped-def]
    """7 requests for one address: 7 equal answers, 5 mails; each mail a new link, the last one
    the only one that works."""
    create_user(container, EMAIL, "reset-Pa55word")
    for _ in range(7):
        r = client.post("/api/noauth/resetPasswordByEmail", json={"email": EMAIL})
        assert (r.status_code, r.content) == (200, b"")
    deliver_queued_mail(container)
    bodies = _mails_to(container, EMAIL)
    assert len(bodies) == passwords.RESET_REQUESTS_PER_HOUR
    tokens = [re.search(r"resetToken=([\w-]+)", b).group(1) for b in bodies]  # type: ignore[union-attr]
    assert len(set(tokens)) == 5
    assert [passwords.check_reset_token(container, token) for token in tokens] == ["unknown"] * 4 + [
        "ok"
    ]


def test_the_queue_holds_nothing_readable(container) -> None:  # type: ignore[no-untyped-def]
    """While queued, the address is sealed (a dump does not tell who asked); the token is made
    by the worker and only its keyed hash is stored."""
    create_user(container, EMAIL, "reset-Pa55word")
    _request(container)
    queued = [cell for cell in dump_database(container) if cell[0] == "mail_queue"]
    assert queued and not any("reset.me" in value or BASE in value for _, _, value in queued)
    drain_once(container)
    token = re.search(r"resetToken=([\w-]+)", _mails_to(container, EMAIL)[0]).group(1)  # type: ignore[union-attr]
    assert not any(token in value for _, _, value in dump_database(container))


def test_a_row_sealed_under_another_key_is_dropped(container, caplog) -> None:  # type: ignore[no-untyped-def]
    _request(container)
    with container.db.transaction() as conn:
        conn.execute(update(t.mail_queue).values(kind="password_reset", payload="v1:AAAA"))
    caplog.set_level(logging.ERROR)
    assert drain_once(container) == 0
    assert _rows(container) == [] and "does not open" in caplog.text


def test_the_app_runs_the_worker_and_stops_it_with_itself(container, app) -> None:  # type: ignore[no-untyped-def]
    container.config.mail_queue_interval_s = interval = 0.05
    create_user(container, EMAIL, "reset-Pa55word")
    with TestClient(app, base_url="http://testserver") as client:
        client.post("/api/noauth/resetPasswordByEmail", json={"email": EMAIL})
        deadline = time.time() + 10
        while not _mails_to(container, EMAIL):
            assert time.time() < deadline, "the app's worker did not send the queued mail"
            time.sleep(0.02)
    _request(container)  # after shutdown nothing drains any more
    time.sleep(interval * 4)
    assert len(_rows(container)) == 1
