"""TWOSTEP_THREADS sizes each worker's threadpool for blocking work."""

from __future__ import annotations

import time

import anyio
import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from twostep.web.app import create_app


async def _two_blocking_calls() -> float:
    started = time.monotonic()
    async with anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(anyio.to_thread.run_sync, time.sleep, 0.2)
    return time.monotonic() - started


@pytest.mark.parametrize(("threads", "one_after_the_other"), [(1, True), (40, False)])
def test_blocking_calls_share_the_configured_threads(container, threads, one_after_the_other) -> None:  # type: ignore[no-untyped-def]
    container.config.threads = threads  # the conftest restores the config for the next test
    with TestClient(create_app(container)) as client:  # the lifespan applies the setting
        assert client.portal is not None
        elapsed = client.portal.call(_two_blocking_calls)
    assert (elapsed >= 0.4) is one_after_the_other, elapsed
