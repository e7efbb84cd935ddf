"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from twostep.bootstrap import Container
from twostep.web import errors, redirects
from twostep.web.input_guard import InputGuardMiddleware
from twostep.web.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Periodic maintenance (expired-login notifications, purges) and the mail queue's worker
    while the app serves."""
    from twostep.services.operations.mail_worker import drain_once
    from twostep.services.operations.maintenance import run_once
    from twostep.web.background import every

    container: Container = app.state.container
    # The threadpool that runs blocking work (run_in_threadpool, plain `def` endpoints): per
    # event loop, so set here, in the worker's own loop.
    anyio.to_thread.current_default_thread_limiter().total_tokens = container.config.threads

    async def loop() -> None:
        while True:
            await asyncio.sleep(container.config.maintenance_interval_s)
            try:
                await run_in_threadpool(run_once, container)
            except Exception:  # a failed round is retried next time; the server keeps serving
                logging.getLogger("twostep.maintenance").exception("maintenance round failed")

    task = asyncio.create_task(loop()) if container.config.maintenance_interval_s > 0 else None
    # Queued mail (password-reset requests): sent by every process on its own schedule.
    async with every(
        container.config.mail_queue_interval_s,
        lambda stop: drain_once(container, stop=stop),
        name="mail_queue",
    ):
        yield
    if task:
        task.cancel()


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="twostep",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.container = container
    errors.install(app)
    redirects.install(app)
    # Innermost: malformed input (NUL, lone surrogates, deep JSON, huge numbers) never reaches a
    # route, and its 400 still gets the security headers and the body limit of the layers outside.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=container.config.max_body_bytes)
    # Production mode (observability): request ids, access log, Prometheus metrics. Added last so
    # it is the outermost middleware and sees every answer, the body-limit 413 included.
    from twostep.web.observability import ObservabilityMiddleware

    app.add_middleware(ObservabilityMiddleware)

    from twostep.web.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)

    # Web UI (issue 5): cookie-session/CSRF/CSP middleware, /static files, /ui/session/* endpoints.
    from twostep.web.ui import install as install_ui

    install_ui(app)
    return app
