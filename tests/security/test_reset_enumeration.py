"""A15 for the password-reset request: nothing an outsider can observe (the answer, its time, the
next request's time, errors) tells a known address from an unknown one.

Before, the answer came first and the lookup, token and mail ran after it on the same connection,
so the next request on that connection waited for the mail of a known address (medians of 120:
1.75 ms after a known address, 1.1 ms after an unknown one). Now the request only queues the
address (the same INSERT for every address); the mail queue's worker looks it up and mails on its
own schedule, and does the same statements for an unknown address as for a known one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from tests.delivery.helpers import mail_settings, save_settings
from tests.factories import create_user
from tests.peers.smtp import PASSWORD, USERNAME, smtp_server
from tests.peers.tls import make_self_signed
from tests.support import LiveServer, deliver_queued_mail, outbox
from twostep.services.operations.mail_worker import drain_once
from twostep.services.records import mail_queue
from twostep.services.signin import passwords
from twostep.storage import tables as t

RESET = "/api/noauth/resetPasswordByEmail"


@contextmanager
def _statements(container: Any) -> Iterator[list[str]]:
    """The SQL statements run through the container's engine inside the block (text only)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(container.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(container.db.engine, "before_cursor_execute", record)


def _queued(container: Any) -> int:
    with container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.mail_queue)).scalar_one())


def test_the_request_does_the_same_work_for_every_address(container, app) -> None:  # type: ignore[no-untyped-def]
    """Statement for statement, whether the account exists, is disabled, or is asked for again;
    nothing is mailed while the request is served (the worker is off here)."""
    container.config.mail_queue_interval_s = 0
    create_user(container, "known@example.com", "known-Pa55word")
    create_user(container, "off@example.com", "off-Pa55word", enabled=False)
    addresses = ["known@example.com", "nobody@example.com", "off@example.com", "known@example.com"]
    with TestClient(app, base_url="http://testserver") as client:
        client.post(RESET, json={"email": "warm-up@example.com"})
        seen = []
        for i, email in enumerate(addresses):
            with _statements(container) as statements:
                r = client.post(RESET, json={"email": email})
            assert (r.status_code, r.content) == (200, b"")
            assert _queued(container) == i + 2
            seen.append(statements)
    assert all(s == seen[0] for s in seen), seen
    assert any("INSERT INTO mail_queue" in s for s in seen[0]), seen[0]
    assert not any("tb_user" in s or "user_credentials" in s for s in seen[0]), seen[0]
    assert outbox(container.config) == []


def test_the_worker_does_the_same_work_for_every_address(container) -> None:  # type: ignore[no-untyped-def]
    """Off the request, the worker too runs the same statements (lookup, limit, a token write,
    which matches no row for an unknown address): its load does not tell either."""
    create_user(container, "known@example.com", "known-Pa55word")
    create_user(container, "off@example.com", "off-Pa55word", enabled=False)
    seen = {}
    for email in (
        "warm-up@example.com",
        "known@example.com",
        "nobody@example.com",
        "off@example.com",
    ):
        passwords.request_password_reset(container, email=email, base_url="https://2fa.example.com")
        with _statements(container) as statements:
            assert drain_once(container) == 1
        seen[email] = statements
    assert seen["known@example.com"] == seen["nobody@example.com"] == seen["off@example.com"]
    assert any("UPDATE user_credentials" in s for s in seen["nobody@example.com"])
    assert [m["to"] for m in outbox(container.config)] == ["known@example.com"]


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def test_known_and_unknown_addresses_take_the_same_time_now_and_for_the_next_request(
    container, app, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Over a real server with its worker running (every 50 ms) and a mail server as providers
    run them (STARTTLS, AUTH, 20 ms to accept a message): interleaved pairs (the order
    alternates), each reset request followed at once by a cheap request on the same connection.
    The median of the differences within pairs, for the answers and for the requests that follow,
    is within noise of 0 (the plain medians are printed too; they wander with the load). The old
    code mailed right after answering, so the TLS handshake and the rest of a known address's
    mail overlapped the next request. 20 known users, as each address gets at most 5 mails an
    hour; every one of their mails arrives, none for the unknown addresses."""
    pairs, users = 100, [f"known{i}@example.com" for i in range(20)]
    for email in users:
        create_user(container, email, "known-Pa55word")
    cert = make_self_signed(tmp_path)
    container.config.outbox = False
    container.config.smtp_ca_file = str(cert.cert_file)
    container.config.mail_queue_interval_s = 0.05
    answer: dict[str, list[float]] = {"known": [], "unknown": []}
    after: dict[str, list[float]] = {"known": [], "unknown": []}
    with smtp_server(starttls=cert.server_context(), auth=True, delay_s=0.02) as smtp:
        settings = mail_settings(smtp.port, enableTls=True, username=USERNAME, password=PASSWORD)
        save_settings(container, "mail", settings)
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            for i in range(10):  # warm-up: connections, caches, the worker's first rounds
                http.post(RESET, json={"email": f"warm{i}@example.com"})
                http.get("/api/noauth/userPasswordPolicy")
            for i in range(pairs):
                order = [("known", users[i % len(users)]), ("unknown", f"nobody{i}@example.com")]
                for name, email in order if i % 2 == 0 else reversed(order):
                    started = time.perf_counter()
                    r = http.post(RESET, json={"email": email})
                    answered = time.perf_counter()
                    follow = http.get("/api/noauth/userPasswordPolicy")
                    done = time.perf_counter()
                    assert (r.status_code, r.content, follow.status_code) == (200, b"", 200)
                    answer[name].append(answered - started)
                    after[name].append(done - answered)
            deliver_queued_mail(container, timeout=30)
        received = [rcpt for m in smtp.messages for rcpt in m.rcpt_tos]
    medians = {
        "answer": {k: _median_ms(v) for k, v in answer.items()},
        "next request": {k: _median_ms(v) for k, v in after.items()},
    }
    # The difference within each pair (its two requests were made back to back) cancels the
    # load that changes over the run: the other work on this machine, the worker's rounds.
    paired = {
        "answer": _median_ms([k - u for k, u in zip(answer["known"], answer["unknown"])]),
        "next request": _median_ms([k - u for k, u in zip(after["known"], after["unknown"])]),
    }
    print("reset request medians (ms):", medians, "paired differences (ms):", paired)
    for what, m in medians.items():
        assert abs(paired[what]) < 0.25 + 0.15 * min(m.values()), (what, paired, medians)
    assert sorted(received) == sorted(users * 5), received
    assert mail_queue.pending(container) == 0


def test_answers_look_the_same_for_every_address(container, client) -> None:  # type: ignore[no-untyped-def]
    """Status, body and headers (but the date and request id) of known, unknown, disabled,
    malformed and over-the-limit addresses."""
    create_user(container, "known@example.com", "known-Pa55word")
    create_user(container, "off@example.com", "off-Pa55word", enabled=False)
    answers = [
        client.post(RESET, json={"email": email})
        for email in ["known@example.com"] * 7
        + ["nobody@example.com", "off@example.com", "not an email", "a@b.c\n", ""]
    ]
    shapes = {
        (
            r.status_code,
            r.content,
            tuple(sorted(k for k in r.headers if k not in ("date", "x-request-id"))),
        )
        for r in answers
    }
    assert len(shapes) == 1 and next(iter(shapes))[:2] == (200, b""), shapes


def test_the_password_lockout_notice_is_queued_not_sent_in_the_request(
    container, app, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    """The same class on the login route: the request that locks a known account used to send
    the notice to userLockoutNotificationEmail itself (one SMTP exchange that an unknown address
    never costs). It queues it now; the worker sends it."""
    container.config.mail_queue_interval_s = 0
    create_user(container, "known@example.com", "known-Pa55word")
    with TestClient(app, base_url="http://testserver") as client:
        settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
        settings.update(maxFailedLoginAttempts=2, userLockoutNotificationEmail="desk@example.com")
        r = client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings)
        assert r.status_code == 200, r.text
        for _ in range(3):
            client.post(
                "/api/auth/login", json={"username": "known@example.com", "password": "wrong-Pa55"}
            )
        assert [m["to"] for m in outbox(container.config)] == []
        assert _queued(container) == 1
    drain_once(container)
    [notice] = outbox(container.config)
    assert notice["to"] == "desk@example.com" and "known@example.com" in notice["body"]
