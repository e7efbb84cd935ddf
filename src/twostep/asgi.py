"""`uvicorn --factory twostep.asgi:create_app`: builds the container from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from twostep.bootstrap import build
from twostep.config import Config
from twostep.web.app import create_app as _create_app


def create_app() -> FastAPI:
    return _create_app(build(Config()))
