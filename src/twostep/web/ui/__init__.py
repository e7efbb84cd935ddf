"""The web UI (issue 5): server-rendered pages, a script module per page, a cookie session.

install(app) adds the cookie-session/CSRF/CSP middleware, the /static files and the /ui/session/*
endpoints. The HTML pages themselves live in web/routes/pages.py (already in ROUTERS).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    from twostep.web.ui.endpoints import router
    from twostep.web.ui.middleware import UiSessionMiddleware

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Just inside an outermost observability middleware (so it still sees the UI's refusals);
    # otherwise outermost. user_middleware[0] is the outermost layer.
    outer = [
        i
        for i, m in enumerate(app.user_middleware)
        if getattr(m.cls, "__name__", "") == "ObservabilityMiddleware"
    ]
    app.user_middleware.insert(outer[0] + 1 if outer else 0, Middleware(UiSessionMiddleware))
