"""Graceful shutdown: SIGTERM lets in-flight requests finish; a restart serves what was committed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.production.helpers import total
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD

PARALLEL = 6


def test_sigterm_finishes_in_flight_requests(make_cluster: Any) -> None:
    cluster = make_cluster()
    # Slow password hashing (the sysadmin is created by the server with these parameters), so
    # that logins are still running when SIGTERM arrives.
    server = cluster.add("g", workers=1, argon2_memory_kib="19456", argon2_time_cost="40")
    server.start().wait_ready()

    def one_login(_: int) -> Any:
        try:
            r = httpx.post(
                server.url + "/api/auth/login",
                json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
                timeout=30,
            )
            return r.status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = [pool.submit(one_login, i) for i in range(PARALLEL)]
        # SIGTERM once every login is being served (the /metrics request itself counts one).
        deadline = time.time() + 20
        while total([server.url], "twostep_http_requests_in_progress") < PARALLEL + 1:
            assert time.time() < deadline, "the logins never ran together"
            time.sleep(0.05)
        running = sum(not f.done() for f in futures)
        code = server.terminate(timeout=30)
        results = [f.result() for f in futures]

    assert running >= 2, "the logins finished before SIGTERM; the test proves nothing"
    assert results == [200] * PARALLEL, results
    # uvicorn re-raises the signal after its graceful shutdown: exit by SIGTERM, not by SIGKILL.
    assert code in (0, -15), server.log_tail()
    # Gone: no new connection is accepted.
    try:
        httpx.get(server.url + "/healthz", timeout=2)
        raise AssertionError("the server still answers after shutdown")
    except httpx.ConnectError:
        pass
    # The restart serves the same committed state (the sysadmin, the settings).
    server.start().wait_ready()
    r = httpx.post(
        server.url + "/api/auth/login",
        json={"username": SYSADMIN_EMAIL, "password": SYSADMIN_PASSWORD},
        timeout=30,
    )
    assert r.status_code == 200, r.text
