"""Schema-driven fuzzing of every operation of /api/openapi.json (issue 15 §5), as four callers
(no token; the pre-verification token of a user with 2FA; the sysadmin's full token; a tenant
administrator's), on SQLite and PostgreSQL: no answer is a 5xx, no error is out of
ThingsBoard's shape, and the server logs no unhandled exception (uvicorn drops the connection
after one).

schemathesis generates each operation's cases from the schema (valid ones and ones that break
it); one example in three also carries a hostile value that generated input rarely holds (a lone
surrogate, a NUL, a number beyond int64, NaN, nesting 40 or 3,000 deep) — the classes of issue 15.

Nothing is skipped. Each test starts on a clean database with fresh tokens, so operations that
end the caller's session (logout, a password change, signing out elsewhere) or change the
settings only affect their own examples.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import given, seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from tests.security.fuzzing import (
    BODIES,
    CALLERS,
    FUZZ,
    SALTS,
    SWEEP,
    assert_answered,
    caller_token,
    headers_of,
    salted,
    serialise,
    swept,
)
from tests.support import LiveServer
from twostep.web.app import create_app
from twostep.web.routes import ROUTERS


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every route in the OpenAPI schema, known before any app exists."""
    return sorted(
        (method, route.path_format)
        for router in ROUTERS
        for route in router.routes
        if getattr(route, "include_in_schema", False)
        for method in route.methods - {"HEAD"}  # type: ignore[attr-defined]
    )


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def fuzz_server(session_container):  # type: ignore[no-untyped-def]
    """One uvicorn server per backend for the whole module; the `container` fixture of each test
    empties its database."""
    with LiveServer(create_app(session_container)) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(fuzz_server):  # type: ignore[no-untyped-def]
    raw = requests.get(fuzz_server.url + "/api/openapi.json", timeout=30).json()
    return schemathesis.openapi.from_dict(raw)


def test_every_operation_of_the_schema_is_fuzzed(api_schema) -> None:  # type: ignore[no-untyped-def]
    in_schema = sorted(
        (op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()
    )
    assert in_schema == OPERATIONS


NO_BODY = object()


def _send(session: requests.Session, url: str, case: Any, body: Any, query: dict[str, Any], headers: dict[str, str]) -> requests.Response:
    target = url + case.formatted_path
    if query:
        target += "?" + urllib.parse.urlencode(query, doseq=True, errors="surrogatepass")
    extra = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() != "x-authorization"}
    data = None if body is NO_BODY else serialise(body)
    content = {} if body is NO_BODY else {"Content-Type": "application/json"}
    return session.request(
        case.method, target, data=data, headers={**extra, **content, **headers}, timeout=60
    )


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("method,path", OPERATIONS)
def test_no_server_error(fuzz_server, api_schema, container, client, server_errors, loopback_only, caller, method, path) -> None:  # type: ignore[no-untyped-def]
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    headers = headers_of(caller_token(caller, container, client))
    session = requests.Session()
    drawn: list[Any] = []

    def send(case: Any, body: Any, query: dict[str, Any], label: Any) -> None:
        response = _send(session, fuzz_server.url, case, body, query, headers)
        assert_answered(response, f"{method} {path} as {caller}: {case.formatted_path} {query} {label}")
        assert not server_errors.records, server_errors.records[0].getMessage()

    @FUZZ
    @seed(int(os.environ.get("TWOSTEP_FUZZ_SEED", "0")))
    @given(case=cases, fields=BODIES, salt=SALTS)
    def one(case: Any, fields: Any, salt: Any) -> None:
        drawn[:] = [case]
        generated = case.body if fields is None else fields
        if isinstance(generated, NotSet) and salt is None:
            body, query = NO_BODY, dict(case.query or {})
        else:
            body, query = salted(None if isinstance(generated, NotSet) else generated, dict(case.query or {}), salt)
        send(case, body, query, salt)

    one()
    for salt in SWEEP:
        for body, query in swept(dict(drawn[0].query or {}), salt):
            send(drawn[0], body, query, salt)
