"""Work a server process repeats on its own schedule while it serves (the app's lifespan)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi.concurrency import run_in_threadpool

# On shutdown, how long a round in progress may take to finish before it is left behind (one
# SMTP exchange is capped at 60 s; uvicorn's own graceful shutdown allows 20 s for requests).
FINISH_TIMEOUT_S = 65.0


@asynccontextmanager
async def every(
    interval_s: float, work: Callable[[threading.Event], object], *, name: str
) -> AsyncIterator[None]:
    """Runs work(stop) in the threadpool every interval_s seconds while the block runs (not at
    all when interval_s is 0). On exit, `stop` is set and a round in progress may finish: `work`
    should check `stop` between its items."""
    if interval_s <= 0:
        yield
        return
    stop = threading.Event()
    stopping = asyncio.Event()
    log = logging.getLogger(f"twostep.{name}")

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), timeout=interval_s)
            except TimeoutError:
                pass
            if stop.is_set():
                return
            try:
                await run_in_threadpool(work, stop)
            except Exception:  # a failed round is retried next time; the server keeps serving
                log.exception("%s round failed", name)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        stopping.set()
        try:
            await asyncio.wait_for(task, timeout=FINISH_TIMEOUT_S)
        except (TimeoutError, asyncio.CancelledError):
            log.warning(
                "%s round still running at shutdown; its rows are claimed again later", name
            )
