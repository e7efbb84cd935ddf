"""The web UI (issue 5): server-rendered pages, one static script, a cookie session.

install(app) adds the cookie-session/CSRF/CSP middleware, the /static files and the /ui/session/*
endpoints. The HTML pages themselves live in web/routes/pages.py (already in ROUTERS).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    from twostep.web.ui.endpoints import router
    from twostep.web.ui.middleware import UiSessionMiddleware

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(UiSessionMiddleware)
