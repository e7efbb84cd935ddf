"""Liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics).

Outside /api/ so they never collide with ThingsBoard's API. /metrics needs the bearer token of
TWOSTEP_METRICS_TOKEN and is closed without one (its counters are a live view of logins, failures and
lockouts); /healthz and /readyz stay open for load balancers and tell only UP or DOWN.
Readiness checks what a request needs:
the database (`SELECT 1`) and the shared limiter (Redis PING; the database limiter has nothing
more to check). A load balancer sends traffic only to instances whose /readyz answers 200; a 503
there is in the ThingsBoard error shape with the failing components in `checks`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from twostep.web.deps import ContainerDep
from twostep.web.errors import error_body
from twostep.web.observability import metrics_exposition

router = APIRouter(include_in_schema=False)
log = logging.getLogger("twostep.health")

_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is up and its event loop answers (nothing else is checked)."""
    return JSONResponse({"status": "UP"}, headers=_NO_STORE)


def _checks(container: Any) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with container.db.read() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "UP"
    except Exception as exc:  # noqa: BLE001 (any failure means not ready)
        log.warning("readiness: database unavailable (%s)", type(exc).__name__)
        checks["database"] = "DOWN"
    limiter = container.limiter
    name = "redis" if type(limiter).__name__ == "RedisLimiter" else "limiter"
    try:
        limiter.ping()
        checks[name] = "UP"
    except Exception as exc:  # noqa: BLE001 (any failure means not ready)
        log.warning("readiness: %s unavailable (%s)", name, type(exc).__name__)
        checks[name] = "DOWN"
    return checks


@router.get("/readyz")
async def readyz(container: ContainerDep) -> JSONResponse:
    checks = await run_in_threadpool(_checks, container)
    down = sorted(k for k, v in checks.items() if v != "UP")
    if down:
        return error_body(
            503, "Service temporarily unavailable: " + ", ".join(down), 2, checks=checks
        )
    return JSONResponse({"status": "UP", "checks": checks}, headers=_NO_STORE)


def _metrics_allowed(expected: str | None, authorization: str | None) -> bool:
    if not expected or not authorization:
        return False
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Digests compared, so that neither the token's length nor its prefix shows in the timing.
    return hmac.compare_digest(
        hashlib.sha256(presented.strip().encode()).digest(),
        hashlib.sha256(expected.encode()).digest(),
    )


@router.get("/metrics")
async def metrics(request: Request, container: ContainerDep) -> Response:
    if not _metrics_allowed(container.config.metrics_token, request.headers.get("authorization")):
        refused = error_body(401, "Authentication failed", 10)
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    body, content_type = await run_in_threadpool(metrics_exposition)
    return Response(body, media_type=content_type, headers=_NO_STORE)
