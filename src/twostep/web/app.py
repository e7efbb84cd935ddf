"""The ASGI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from twostep.bootstrap import Container
from twostep.web import errors
from twostep.web.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="twostep",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.container = container
    errors.install(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=container.config.max_body_bytes)

    from twostep.web.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    return app
