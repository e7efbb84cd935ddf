"""Request ids, the access log and Prometheus metrics, as one pure ASGI middleware.

Metrics (prometheus_client; with several worker processes `serve` sets PROMETHEUS_MULTIPROC_DIR and
the /metrics endpoint aggregates every worker of the instance):

- twostep_http_requests_in_progress: requests being served (all workers of the instance).
- twostep_http_requests_total{method,route,status} and twostep_http_request_duration_seconds
  {method,route}: `route` is the route template (`/api/user/{userId}`), never the raw path.
- twostep_logins_total{result}: POST /api/auth/login: success | second_step | mfa_configuration |
  failed | locked | rate_limited | unavailable | error.
- twostep_second_step_checks_total{provider,result}: POST /api/auth/2fa/verification/check:
  success | incorrect | locked | rate_limited | rejected | unavailable | error.
- twostep_code_sends_total{flow,provider,result}: login sends (/api/auth/2fa/verification/send) and
  enrollment sends (/api/2fa/account/config/submit): sent | rate_limited | refused | failed |
  unavailable | error.
- twostep_lockouts_total{kind}: second_step: a check answered with the 2FA lockout; password: a
  password login answered with the account-locked message.

The outcomes are read from the response status and, for the two login endpoints only, from the small
JSON response body (its `scope` or error `message`), which is parsed here and never logged.

The access log line (logger `twostep.access`) holds method, path WITHOUT the query string, status,
duration and the request id: the check endpoint carries the verification code in its query string.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twostep.logging_setup import request_id_var

access_log = logging.getLogger("twostep.access")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "twostep_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "twostep_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
# livesum: summed over the live workers of the instance in multiprocess mode.
IN_PROGRESS = Gauge(
    "twostep_http_requests_in_progress",
    "HTTP requests being served",
    multiprocess_mode="livesum",
)
LOGINS = Counter("twostep_logins_total", "Password logins by outcome", ["result"])
CHECKS = Counter(
    "twostep_second_step_checks_total", "Second-step code checks by outcome", ["provider", "result"]
)
SENDS = Counter(
    "twostep_code_sends_total", "One-time code sends by outcome", ["flow", "provider", "result"]
)
LOCKOUTS = Counter("twostep_lockouts_total", "Lockouts answered", ["kind"])

LOGIN_PATH = "/api/auth/login"
CHECK_PATH = "/api/auth/2fa/verification/check"
SEND_PATH = "/api/auth/2fa/verification/send"
SUBMIT_PATH = "/api/2fa/account/config/submit"
_OUTCOME_PATHS = {LOGIN_PATH, CHECK_PATH, SEND_PATH, SUBMIT_PATH}
_BODY_PATHS = {LOGIN_PATH, CHECK_PATH}  # bodies read for the outcome (small JSON; never logged)
_QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}  # logged at DEBUG only

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_PROVIDERS = {"TOTP", "SMS", "EMAIL", "BACKUP_CODE"}


def new_request_id(inbound: str | None) -> str:
    """The caller's X-Request-Id when it is sane (1-64 of [A-Za-z0-9._:-]); otherwise a new one."""
    if inbound and _REQUEST_ID.fullmatch(inbound):
        return inbound
    return uuid.uuid4().hex


def _provider(query: bytes) -> str:
    # Only the providerType parameter is looked at; the rest of the query string (the code) is not.
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"providerType":
            text = value.decode("ascii", "replace").upper()
            return text if text in _PROVIDERS else "other"
    return "none"


def _error_message(body: bytes) -> tuple[str | None, str | None]:
    """(scope, message) of a JSON response body, or (None, None)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    scope, message = data.get("scope"), data.get("message")
    return (
        scope if isinstance(scope, str) else None,
        message if isinstance(message, str) else None,
    )


def _common(status: int) -> str | None:
    if status == 429:
        return "rate_limited"
    if status == 503:
        return "unavailable"
    if status >= 500:
        return "error"
    return None


def _record_outcome(path: str, query: bytes, status: int, body: bytes) -> None:
    from twostep.services.signin import password_login
    from twostep.services.twofa import second_step

    common = _common(status)
    if path == LOGIN_PATH:
        scope, message = _error_message(body) if body else (None, None)
        if common:
            result = common
        elif status == 200:
            result = {
                "PRE_VERIFICATION_TOKEN": "second_step",
                "MFA_CONFIGURATION_TOKEN": "mfa_configuration",
            }.get(scope or "", "success")
        elif message == password_login.LOCKED:
            result = "locked"
            LOCKOUTS.labels("password").inc()
        else:
            result = "failed"
        LOGINS.labels(result).inc()
    elif path == CHECK_PATH:
        _, message = _error_message(body) if body and status != 200 else (None, None)
        if common:
            result = common
        elif status == 200:
            result = "success"
        elif message == second_step.LOCKED:
            result = "locked"
            LOCKOUTS.labels("second_step").inc()
        elif status == 400 and message == second_step.INCORRECT:
            result = "incorrect"
        else:
            result = "rejected"
        CHECKS.labels(_provider(query), result).inc()
    elif path == SEND_PATH:
        result = common or ("sent" if status < 300 else "refused")
        SENDS.labels("login", _provider(query), result).inc()
    elif path == SUBMIT_PATH:
        result = common or ("sent" if status < 300 else "refused")
        SENDS.labels("enrollment", "any", result).inc()


class ObservabilityMiddleware:
    """Request id (X-Request-Id in and out), access log, request metrics and login outcomes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inbound = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                inbound = value.decode("latin-1")
                break
        request_id = new_request_id(inbound)
        token = request_id_var.set(request_id)
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        capture = method == "POST" and path in _BODY_PATHS
        status = 500
        body = bytearray()
        started = time.perf_counter()
        IN_PROGRESS.inc()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            elif message["type"] == "http.response.body" and capture and len(body) < 8192:
                body.extend(message.get("body", b"")[: 8192 - len(body)])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            IN_PROGRESS.dec()
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or ("unmatched" if status == 404 else "other")
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(elapsed)
            if method == "POST" and path in _OUTCOME_PATHS:
                try:
                    _record_outcome(path, scope.get("query_string", b""), status, bytes(body))
                except Exception:  # metrics never fail a request
                    logging.getLogger("twostep.metrics").exception("outcome not recorded")
            access_log.log(
                logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            request_id_var.reset(token)


def metrics_exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition: every worker of this instance in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
