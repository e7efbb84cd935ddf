"""The anatomy of one login and one check, in process (no HTTP server, no concurrency).

Drives the real app (`twostep.web.app.create_app(container)`) through Starlette's TestClient and
counts, per request, the SQL statements, transactions (commits), pool checkouts (each one a
`pool_pre_ping` round trip on PostgreSQL) and the time spent inside the driver's execute. This
is the evidence for where a check's time goes when it is not the password hash.
"""

from __future__ import annotations

import statistics
import time
import uuid
import warnings
from typing import Any

import seed
from sqlalchemy import event


class Counters:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.statements = 0
        self.commits = 0
        self.checkouts = 0
        self.connects = 0
        self.db_s = 0.0
        self._t: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)
        event.listen(engine.pool, "checkout", self._checkout)
        event.listen(engine.pool, "connect", self._connect)

    def _before(self, *a: Any) -> None:
        self.statements += 1
        self._t.append(time.perf_counter())

    def _after(self, *a: Any) -> None:
        self.db_s += time.perf_counter() - self._t.pop()

    def _commit(self, *a: Any) -> None:
        self.commits += 1

    def _checkout(self, *a: Any) -> None:
        self.checkouts += 1

    def _connect(self, *a: Any) -> None:
        self.connects += 1

    def snapshot(self) -> tuple[int, int, int, int, float]:
        return self.statements, self.commits, self.checkouts, self.connects, self.db_s


def _delta(a: tuple, b: tuple) -> tuple:  # type: ignore[type-arg]
    return tuple(y - x for x, y in zip(a, b))


def measure(c, tenant_id: uuid.UUID, *, first: int = 9_000_000, n: int = 200) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

    from twostep.web.app import create_app

    seed.seed(c, tenant_id, first, first + n, analyze=False)
    client = TestClient(create_app(c))  # no `with`: no lifespan, so no maintenance task
    counters = Counters(c.db.engine)
    per: dict[str, list[tuple]] = {"login": [], "check": []}  # type: ignore[type-arg]
    tokens = []
    for i in range(first, first + n):
        s0 = counters.snapshot()
        t0 = time.perf_counter()
        r = client.post(
            "/api/auth/login", json={"username": seed.email(i), "password": seed.PASSWORD}
        )
        wall = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        per["login"].append((*_delta(s0, counters.snapshot()), wall))
        tokens.append((i, r.json()["token"]))
    step = int(time.time() // 30)
    for i, token in tokens:
        code = seed.code(i, step)
        s0 = counters.snapshot()
        t0 = time.perf_counter()
        r = client.post(
            f"/api/auth/2fa/verification/check?providerType=TOTP&verificationCode={code}",
            headers={"X-Authorization": f"Bearer {token}"},
        )
        wall = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        per["check"].append((*_delta(s0, counters.snapshot()), wall))
    # The floor under every transaction: one `SELECT 1` in a read transaction, as the services
    # open them (pool checkout with pre-ping, BEGIN, statement, COMMIT, checkin).
    from sqlalchemy import text

    laps = []
    for _ in range(300):
        t0 = time.perf_counter()
        with c.db.read() as conn:
            conn.execute(text("SELECT 1")).scalar()
        laps.append(time.perf_counter() - t0)
    out: dict[str, Any] = {
        "requests_each": n,
        "one_select1_read_transaction_ms": round(statistics.median(laps) * 1000, 3),
    }
    out["service_layer_ms"] = _service_layer(c, tenant_id, first + n, n)
    for kind, rows in per.items():
        out[kind] = {
            "sql_statements": statistics.median(r[0] for r in rows),
            "commits": statistics.median(r[1] for r in rows),
            "pool_checkouts": statistics.median(r[2] for r in rows),
            "new_db_connections": statistics.median(r[3] for r in rows),
            "ms_in_driver_execute": round(statistics.median(r[4] for r in rows) * 1000, 3),
            "ms_total_via_testclient": round(statistics.median(r[5] for r in rows) * 1000, 3),
        }
    return out


def _service_layer(c, tenant_id: uuid.UUID, first: int, n: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The same work without HTTP, FastAPI or TestClient: what the routes call, timed one at a
    time (median wall ms; single-threaded, so about CPU + database round trips)."""
    from twostep.domain.twofa.providers import ProviderType
    from twostep.services import values
    from twostep.services.signin import password_login
    from twostep.services.twofa import second_step
    from twostep.web import deps

    seed.seed(c, tenant_id, first, first + n, analyze=False)
    client = values.Client(address="127.0.0.1", user_agent="bench")
    logins, checks, tokens = [], [], []
    for i in range(first, first + n):
        t0 = time.perf_counter()
        res = password_login.login(c, username=seed.email(i), password=seed.PASSWORD, client=client)
        logins.append(time.perf_counter() - t0)
        tokens.append((i, res["token"]))
    step = int(time.time() // 30)
    for i, token in tokens:
        code = seed.code(i, step)
        t0 = time.perf_counter()
        claims = c.tokens.decode(token)
        second_step.check(
            c, deps.Principal(claims=claims, token=token), ProviderType.TOTP, code, client
        )
        checks.append(time.perf_counter() - t0)
    verify = []
    stored = c.passwords.hash(seed.PASSWORD)
    for _ in range(30):
        t0 = time.perf_counter()
        c.passwords.verify(stored, seed.PASSWORD)
        verify.append(time.perf_counter() - t0)
    return {
        "login_ms": round(statistics.median(logins) * 1000, 2),
        "argon2_verify_ms": round(statistics.median(verify) * 1000, 2),
        "check_ms": round(statistics.median(checks) * 1000, 2),
    }
