"""The one place that turns errors into ThingsBoard's error body {status, message, errorCode, timestamp}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from starlette.exceptions import HTTPException as StarletteHTTPException

from twostep.domain import errors as e
from twostep.domain.ids import now_ms

log = logging.getLogger("twostep.errors")

_STATUS = {
    e.BadRequest: (400, 31),
    e.NotFound: (404, 32),
    e.PermissionDenied: (403, 20),
    e.AuthenticationFailed: (401, 10),
    e.TokenExpired: (401, 11),
    e.CredentialsExpired: (401, 15),
    e.PasswordViolation: (401, 45),
    e.TooManyRequests: (429, 33),
    e.VersionConflict: (409, 35),
    e.DeliveryFailed: (500, 2),
    e.ServiceUnavailable: (503, 2),
}


def error_body(status: int, message: str, code: int, **extra: object) -> JSONResponse:
    body = {"status": status, "message": message, "errorCode": code, "timestamp": now_ms(), **extra}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _validation_message(exc: RequestValidationError) -> str:
    parts = set()
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = loc[-1] if loc else "body"
        kind = err.get("type", "")
        if kind == "missing":
            msg = "must not be null"
        elif kind == "json_invalid" or (kind in ("model_attributes_type", "dict_type") and not loc):
            return (
                "Invalid request body: malformed JSON"
                if kind == "json_invalid"
                else "Invalid request body"
            )
        else:
            msg = str(err.get("msg", "is invalid")).replace("Value error, ", "")
        parts.add(f"{field} {msg}")
    return "Validation error: " + ", ".join(sorted(parts))


def install(app: FastAPI) -> None:
    @app.exception_handler(e.DomainError)
    async def _domain(_: Request, exc: e.DomainError) -> JSONResponse:
        status, code = _STATUS.get(type(exc), (400, 31))
        for cls, mapping in _STATUS.items():
            if isinstance(exc, cls):
                status, code = mapping
                break
        extra = {"resetToken": exc.reset_token} if isinstance(exc, e.CredentialsExpired) else {}
        return error_body(status, exc.message, code, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_body(400, _validation_message(exc), 31)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_body(404, "Requested item wasn't found!", 32)
        if exc.status_code == 405:
            return error_body(405, "Request method is not supported", 31)
        if exc.status_code == 413:
            return error_body(413, "Request body is too large", 31)
        status = exc.status_code
        return error_body(status, str(exc.detail), 31 if status < 500 else 2)

    @app.exception_handler(OperationalError)
    @app.exception_handler(SAInterfaceError)
    async def _db_down(_: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", type(exc).__name__)
        return error_body(503, "Service temporarily unavailable", 2)

    @app.exception_handler(DataError)
    async def _data_refused(_: Request, exc: DataError) -> JSONResponse:
        # The database refused a value of the request (PostgreSQL: a NUL, a text longer than its
        # column, a number out of range): the checks before it should have, so it is logged,
        # by class only (the driver's message may quote the value), and answered as bad input.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return error_body(400, "Invalid request: a value cannot be stored", 31)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_body(500, "Internal server error", 2)
