"""JSON logs without secrets, request ids, metrics and readiness, in process (no server needed)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.production.helpers import METRICS_TOKEN
from tests.support import SYSADMIN_EMAIL, make_config
from twostep.bootstrap import build
from twostep.logging_setup import (
    _SECRET_PATTERNS,
    JsonFormatter,
    log_config,
    request_id_var,
    scrub,
)
from twostep.services.operations.setup import initialize
from twostep.web.app import create_app
from twostep.web.observability import new_request_id


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    container = build(make_config(tmp_path, None, metrics_token=METRICS_TOKEN))
    initialize(container, announce=lambda *_: None)
    with TestClient(create_app(container), base_url="http://testserver") as client:
        yield client
    container.close()


def _format(msg: str, *args: Any, **extra: Any) -> dict[str, Any]:
    record = logging.LogRecord("twostep.test", logging.INFO, __file__, 1, msg, args or None, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))  # type: ignore[no-any-return]


def test_formatter_never_prints_tokens_codes_or_headers() -> None:
    jwt = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    entry = _format(
        "POST /api/auth/2fa/verification/check?providerType=EMAIL&verificationCode=%s with %s",
        "493817",
        f"X-Authorization: Bearer {jwt}",
        headers={"X-Authorization": f"Bearer {jwt}"},
        authorization=f"Bearer {jwt}",
        password="hunter2-Pa55",
        query="verificationCode=493817",
        user="someone",
    )
    text = json.dumps(entry)
    for secret in ("493817", jwt, "hunter2-Pa55", "c2lnbmF0dXJl"):
        assert secret not in text, text
    assert entry["user"] == "someone"
    assert entry["logger"] == "twostep.test" and entry["level"] == "INFO"


# Pieces of what log values are made of, secrets and their look-alikes included (non-ASCII
# letters that case-insensitive matching pairs with ASCII ones: dotted I, Kelvin sign, long s).
_FRAGMENTS = st.sampled_from(
    [
        "POST ", "/api/auth/2fa/verification/check", " 200", "?", "&", "=", ": ", "'", " ",
        "abc", "providerType=TOTP", "verificationCode=493817", "CODE=1", "password",
        "Bearer abc.def", "bEaReR  xyz", "eyJhbGci.eyJzdWIi.c2ln", "eyj",
        "X-Authorization: Bearer-less", "authorization': 'v'", "authorİzation: v", "Cookie: sid",
        "Coo\u212aie: sid", "Set-Cookie: sid", "[parameters: {'v': 1}]", "\n", "ſecret=v", "İ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=8).map("".join))
def test_scrub_skips_only_texts_that_no_pattern_would_change(text: str) -> None:
    """scrub() leaves most texts alone without running the substitutions: the shortcut must give
    exactly what running every substitution gives."""
    expected = text
    for pattern, replacement in _SECRET_PATTERNS:
        expected = pattern.sub(replacement, expected)
    assert scrub(text) == expected


def test_formatter_carries_the_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        assert _format("hello")["request_id"] == "req-42"
    finally:
        request_id_var.reset(token)
    assert _format("hello")["request_id"] == "-"


def test_uvicorn_access_log_is_off() -> None:
    # uvicorn's access log prints the query string, where the verification code travels.
    config = log_config("INFO")
    assert config["loggers"]["uvicorn.access"]["handlers"] == []


@pytest.mark.parametrize(
    "inbound,kept",
    [
        ("abc-123", True),
        ("lb.0001:7_x", True),
        ("", False),
        ("a b", False),
        ("x" * 65, False),
        ("id\r\nX-Injected: 1", False),
    ],
)
def test_request_id_is_kept_only_when_sane(inbound: str, kept: bool) -> None:
    result = new_request_id(inbound)
    assert (result == inbound) is kept
    assert 1 <= len(result) <= 64


def test_access_log_has_path_and_request_id_but_no_query(
    app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="twostep.access")
    r = app_client.post(
        "/api/auth/2fa/verification/check?providerType=EMAIL&verificationCode=271828",
        headers={"X-Request-Id": "trace-1", "X-Authorization": "Bearer abc.def.ghi"},
    )
    assert r.status_code == 401
    assert r.headers["x-request-id"] == "trace-1"
    records = [rec for rec in caplog.records if rec.name == "twostep.access"]
    assert records
    line = JsonFormatter().format(records[-1])
    assert "271828" not in line and "verificationCode" not in line and "abc.def.ghi" not in line
    entry = json.loads(line)
    assert entry["path"] == "/api/auth/2fa/verification/check"
    assert entry["status"] == 401 and entry["request_id"] == "trace-1"


def test_readiness_liveness_and_metrics(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "UP"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "UP", "checks": {"database": "UP", "limiter": "UP"}}
    r = app_client.post(
        "/api/auth/login", json={"username": SYSADMIN_EMAIL, "password": "wrong-Pa55"}
    )
    assert r.status_code == 401
    text = app_client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'twostep_logins_total{result="failed"}' in text
    assert 'route="/api/auth/login"' in text


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Bearer {METRICS_TOKEN}x", f"Bearer {METRICS_TOKEN[:-1]}",
     f"Basic {METRICS_TOKEN}", METRICS_TOKEN, "Bearer wrong"],
)  # fmt: skip
def test_metrics_need_the_token(app_client: TestClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    r = app_client.get("/metrics", headers=headers)
    assert r.status_code == 401
    assert set(r.json()) == {"status", "message", "errorCode", "timestamp"}
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "twostep_" not in r.text
    assert app_client.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"}).status_code == 200


def test_metrics_are_closed_without_a_token_setting(tmp_path: Path) -> None:
    container = build(make_config(tmp_path, None))
    initialize(container, announce=lambda *_: None)
    with TestClient(create_app(container), base_url="http://testserver") as client:
        for authorization in ("Bearer ", "Bearer None", "Bearer null", None):
            headers = {"Authorization": authorization} if authorization is not None else {}
            assert client.get("/metrics", headers=headers).status_code == 401
        assert client.get("/healthz").status_code == 200  # load balancers still see health
        assert client.get("/readyz").status_code == 200
    container.close()


def test_a_short_metrics_token_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_config(tmp_path, None, metrics_token="short")


def test_readiness_is_503_in_the_error_shape_when_the_limiter_is_down(
    app_client: TestClient,
) -> None:
    from twostep.domain.errors import ServiceUnavailable

    container = app_client.app.state.container  # type: ignore[attr-defined]

    class DownLimiter:
        def ping(self) -> None:
            raise ServiceUnavailable("Redis is unavailable")

    original = container.limiter
    container.limiter = DownLimiter()
    try:
        r = app_client.get("/readyz")
    finally:
        container.limiter = original
    assert r.status_code == 503
    body = r.json()
    assert {"status", "message", "errorCode", "timestamp"} <= set(body)
    assert body["status"] == 503 and body["checks"]["limiter"] == "DOWN"


def test_formatter_drops_sql_parameters_from_tracebacks() -> None:
    try:
        raise RuntimeError(
            "(psycopg.errors.UniqueViolation) duplicate key\n[SQL: INSERT INTO x VALUES (%(v)s)]\n"
            "[parameters: {'v': 'sensitive-value-1'}]\n(Background on this error at: ...)"
        )
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "twostep.errors", logging.ERROR, __file__, 1, "unhandled error", None, sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "sensitive-value-1" not in line
    assert json.loads(line)["exc_type"] == "RuntimeError"
