"""Malformed input (issue 15 §5): every request below answers 4xx in ThingsBoard's error shape,
stores nothing and leaves the keep-alive connection usable, on SQLite and PostgreSQL.

The classes: JSON text that is not Unicode (lone surrogates) or nested absurdly deep, numbers no
64-bit integer holds (in query parameters and in JSON), NUL characters in any text (PostgreSQL
refuses them), and correctly signed tokens whose claims have the wrong type. They are refused at
the edge (web/input_guard.py, web/params.py, TokenService.decode), before any route reads them.

Requests that matter for the connection go over a real uvicorn server and one raw socket: an
unhandled error there makes uvicorn drop the connection after the 500.
"""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import pytest

from tests.factories import bearer, create_user
from tests.security.helpers import ERROR_KEYS, dump_database, jwt_key
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import full_headers

INT64_MAX = 2**63 - 1
HUGE = "99999999999999999999999"
SURROGATE = '"\\ud800x@a.com"'  # a JSON escape of a lone high surrogate: valid JSON, not Unicode
DEEP = '{"a":' * 2999 + "1" + "}" * 2999  # 3,000 levels, ~15 KB


class Connection:
    """One keep-alive HTTP/1.1 connection to the live server, spoken by hand."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += ["Content-Type: application/json"] if body else []
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, rest = data.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            rest += self._recv()
        return status, json.loads(rest) if rest else None

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def still_usable(self) -> bool:
        status, _ = self.request("GET", "/api/noauth/userPasswordPolicy")
        return status == 200

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(live_server):  # type: ignore[no-untyped-def]
    c = Connection(live_server.port)
    yield c
    c.close()


@pytest.fixture
def tenant_admin(container, client):  # type: ignore[no-untyped-def]
    create_user(container, "admin@tenant.example", "tenant-Pa55word")
    return full_headers(client, "admin@tenant.example", "tenant-Pa55word")


def _refused(conn: Connection, container: Any, method: str, path: str, body: str = "",
             headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Send one request; it must be a 400 in the error shape that changed nothing, and the same
    connection must still serve the next request."""
    before = dump_database(container)
    status, answer = conn.request(method, path, body.encode(), headers)
    assert status == 400, (status, answer)
    assert answer is not None and set(answer) == ERROR_KEYS, answer
    assert answer["errorCode"] == 31, answer
    assert dump_database(container) == before
    assert conn.still_usable()
    return answer


# -- JSON that is not Unicode ------------------------------------------------------------------

SURROGATE_BODIES = {
    "/api/auth/login": '{"username":%s,"password":"x"}' % SURROGATE,
    "/api/auth/token": '{"refreshToken":%s}' % SURROGATE,
    "/api/noauth/activate": '{"activateToken":%s,"password":%s}' % (SURROGATE, SURROGATE),
    "/api/noauth/resetPassword": '{"resetToken":%s,"password":%s}' % (SURROGATE, SURROGATE),
    "/api/auth/changePassword": '{"currentPassword":%s,"newPassword":%s}' % (SURROGATE, SURROGATE),
    "/api/admin/settings": '{"key":"general","jsonValue":{"baseUrl":%s}}' % SURROGATE,
    "/api/2fa/account/config?verificationCode=123456":
        '{"providerType":"EMAIL","useByDefault":true,"email":%s}' % SURROGATE,
    "/api/2fa/account/config/submit":
        '{"providerType":"EMAIL","useByDefault":true,"email":%s}' % SURROGATE,
    # A surrogate in a key, in a nested value, and a pair written backwards (low before high).
    "/api/tenant": '{"title":"T","additionalInfo":{"\\udfff":"\\udc00\\ud800"}}',
}


@pytest.mark.parametrize("path", list(SURROGATE_BODIES))
def test_lone_surrogates_are_refused(conn, container, client, sysadmin_headers, platform, path) -> None:  # type: ignore[no-untyped-def]
    answer = _refused(conn, container, "POST", path, SURROGATE_BODIES[path], sysadmin_headers)
    assert "Unicode" in answer["message"], answer


def test_a_surrogate_pair_is_ordinary_text(conn, container, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    body = '{"title":"Tenant \\ud83d\\ude00","additionalInfo":{}}'
    status, answer = conn.request("POST", "/api/tenant", body.encode(), sysadmin_headers)
    assert status == 200 and answer is not None and answer["title"] == "Tenant \U0001f600", answer


# -- JSON nested absurdly deep -------------------------------------------------------------------

DEEP_BODIES = {
    "/api/auth/login": '{"username":%s,"password":"x"}' % DEEP,
    "/api/auth/token": '{"refreshToken":%s}' % DEEP,
    "/api/noauth/resetPasswordByEmail": '{"email":%s}' % DEEP,
    "/api/2fa/settings": DEEP,
    "/api/tenant": '{"title":"T","additionalInfo":%s}' % DEEP,
    # Unbalanced: the parser recurses before it finds the document broken.
    "/api/user": "[" * 3000,
}


@pytest.mark.parametrize("path", list(DEEP_BODIES))
def test_deeply_nested_json_is_refused(conn, container, sysadmin_headers, path) -> None:  # type: ignore[no-untyped-def]
    answer = _refused(conn, container, "POST", path, DEEP_BODIES[path], sysadmin_headers)
    assert "nested" in answer["message"], answer


def test_nesting_is_limited_well_below_the_recursion_limit(conn, container, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    """100 levels parse without a RecursionError but are still refused: no stored document is
    deeper than the limit, so nothing read back later recurses either."""
    body = '{"title":"T","additionalInfo":%s}' % ('{"a":' * 100 + "1" + "}" * 100)
    _refused(conn, container, "POST", "/api/tenant", body, sysadmin_headers)
    ok = '{"title":"T","additionalInfo":%s}' % ('{"a":' * 16 + "1" + "}" * 16)
    status, answer = conn.request("POST", "/api/tenant", ok.encode(), sysadmin_headers)
    assert status == 200, answer


# -- numbers no 64-bit integer holds -------------------------------------------------------------

AUDIT_ROUTES = [
    "/api/audit/logs",
    f"/api/audit/logs/user/{uuid.uuid4()}",
    f"/api/audit/logs/customer/{uuid.uuid4()}",
    f"/api/audit/logs/entity/USER/{uuid.uuid4()}",
]


@pytest.mark.parametrize("parameter", ["startTime", "endTime"])
@pytest.mark.parametrize("route", AUDIT_ROUTES)
def test_integers_beyond_int64_in_query_parameters_are_refused(conn, container, tenant_admin, route, parameter) -> None:  # type: ignore[no-untyped-def]
    for value in (HUGE, "-" + HUGE, str(INT64_MAX + 1)):
        answer = _refused(
            conn, container, "GET", f"{route}?pageSize=10&page=0&{parameter}={value}", "", tenant_admin
        )
        assert parameter in answer["message"], answer
    status, _ = conn.request("GET", f"{route}?pageSize=10&page=0&{parameter}={INT64_MAX}", b"", tenant_admin)
    assert status == 200


def test_every_integer_parameter_of_the_api_is_bounded_to_int64(client) -> None:  # type: ignore[no-untyped-def]
    """The class, not the instance: any integer query or path parameter a route declares (now or
    later) carries int64 bounds, so FastAPI refuses larger values before the route runs."""
    schema = client.get("/api/openapi.json").json()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for variant in _variants(parameter.get("schema", {})):
                    if variant.get("type") == "integer":
                        found.append((method, path, parameter["name"]))
                        assert variant.get("minimum", -(2**64)) >= -(2**63), (path, parameter)
                        assert variant.get("maximum", 2**64) <= INT64_MAX, (path, parameter)
    assert ("get", "/api/audit/logs", "startTime") in found


def _variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]


BIG_NUMBER_BODIES = {
    "integer beyond int64": '{"title":"T","version":%s}' % HUGE,
    "integer just beyond int64": '{"title":"T","version":%d}' % (INT64_MAX + 1),
    "negative integer just beyond int64": '{"title":"T","additionalInfo":{"n":%d}}' % (-(2**63) - 1),
    "negative integer beyond int64": '{"title":"T","additionalInfo":{"n":-%s}}' % HUGE,
    "float that overflows": '{"title":"T","additionalInfo":{"n":1e400}}',
    "NaN": '{"title":"T","additionalInfo":{"n":NaN}}',
    "Infinity": '{"title":"T","additionalInfo":{"n":-Infinity}}',
}


@pytest.mark.parametrize("case", list(BIG_NUMBER_BODIES))
def test_numbers_beyond_int64_or_not_finite_in_json_are_refused(conn, container, sysadmin_headers, case) -> None:  # type: ignore[no-untyped-def]
    answer = _refused(conn, container, "POST", "/api/tenant", BIG_NUMBER_BODIES[case], sysadmin_headers)
    assert "number" in answer["message"], answer


def test_the_int64_range_itself_is_accepted(conn, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    body = '{"title":"T","additionalInfo":{"max":%d,"min":%d,"x":1.5e300}}' % (INT64_MAX, -(2**63))
    status, answer = conn.request("POST", "/api/tenant", body.encode(), sysadmin_headers)
    assert status == 200, answer
    assert answer is not None and answer["additionalInfo"]["max"] == INT64_MAX


# -- NUL characters ------------------------------------------------------------------------------


def test_nul_in_the_login_username_is_refused_before_authentication(conn, container) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"username": SYSADMIN_EMAIL + "\x00", "password": SYSADMIN_PASSWORD})
    answer = _refused(conn, container, "POST", "/api/auth/login", body)
    assert "NUL" in answer["message"], answer
    body = json.dumps({"username": "nobody\x00@example.com", "password": "x"})
    _refused(conn, container, "POST", "/api/auth/login", body)


NUL_REQUESTS = {
    "settings key in the path": ("GET", "/api/admin/settings/gen%00eral", ""),
    "settings key in the body": ("POST", "/api/admin/settings", '{"key":"a\\u0000b","jsonValue":{}}'),
    "settings value": ("POST", "/api/admin/settings", '{"key":"general","jsonValue":{"baseUrl":"http://a\\u0000"}}'),
    "object key": ("POST", "/api/tenant", '{"title":"T","additionalInfo":{"a\\u0000":1}}'),
    "query parameter": ("GET", "/api/tenants?pageSize=10&page=0&sortProperty=title%00", ""),
    "query parameter name": ("GET", "/api/tenants?pageSize=10&page=0&x%00=1", ""),
    "path parameter": ("GET", "/api/user/%00", ""),
}


@pytest.mark.parametrize("case", list(NUL_REQUESTS))
def test_nul_characters_are_refused_in_every_text_input(conn, container, sysadmin_headers, case) -> None:  # type: ignore[no-untyped-def]
    method, path, body = NUL_REQUESTS[case]
    answer = _refused(conn, container, method, path, body, sysadmin_headers)
    assert "NUL" in answer["message"], answer


# -- token claims of the wrong type ---------------------------------------------------------------


@pytest.mark.parametrize(
    "claim,value",
    [
        ("userId", 12345),
        ("userId", ["not", "a", "uuid"]),
        ("userId", {"id": "x"}),
        ("sessionId", 7),
        ("tenantId", 7),
        ("customerId", True),
        ("jti", 3.5),
        ("scopes", "SYS_ADMIN"),
        ("scopes", [["SYS_ADMIN"]]),
        ("scopes", 1),
        ("sub", {"email": "x"}),
        ("iat", 1e300),
    ],
)
def test_correctly_signed_tokens_with_claims_of_the_wrong_type_are_401(container, client, sysadmin_headers, claim, value) -> None:  # type: ignore[no-untyped-def]
    import jwt

    token = sysadmin_headers["X-Authorization"][7:]
    claims = jwt.decode(token, options={"verify_signature": False})
    claims[claim] = value
    forged = jwt.encode(claims, jwt_key(container), algorithm="HS512")
    for path in ("/api/auth/user", "/api/auth/2fa/providers"):
        r = client.get(path, headers=bearer(forged))
        assert r.status_code == 401, (claim, value, r.text)
        assert set(r.json()) == ERROR_KEYS
    r = client.post("/api/auth/token", json={"refreshToken": forged})
    assert r.status_code == 401, r.text



# -- texts longer than their column ---------------------------------------------------------------


def test_a_settings_key_longer_than_its_column_is_refused_on_both_backends(conn, container, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    """Found by the fuzzer: PostgreSQL refused a 300-character key with a 500; SQLite stored it."""
    body = json.dumps({"key": "k" * 256, "jsonValue": {}})
    answer = _refused(conn, container, "POST", "/api/admin/settings", body, sysadmin_headers)
    assert "255" in answer["message"], answer
    status, _ = conn.request("POST", "/api/admin/settings", json.dumps({"key": "k" * 255, "jsonValue": {}}).encode(), sysadmin_headers)
    assert status == 200


def test_a_value_the_database_refuses_is_a_400_not_a_500(container, caplog) -> None:  # type: ignore[no-untyped-def]
    """The second layer, for a value no check before the database caught: PostgreSQL's data
    exceptions (NUL, too long, out of range) answer 400 in the error shape, and the log names
    the exception's class, never the value."""
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import DataError

    from twostep.web.app import create_app

    app = create_app(container)

    @app.get("/api/test-only/refused")
    def refused() -> None:
        raise DataError("INSERT ...", {"v": "secret-value"}, ValueError("value too long: secret-value"))

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/test-only/refused")
    assert r.status_code == 400 and set(r.json()) == ERROR_KEYS, r.text
    assert r.json()["errorCode"] == 31
    assert "secret-value" not in caplog.text and "ValueError" in caplog.text
