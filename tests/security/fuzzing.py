"""Shared pieces of the fuzz tests (test_fuzz_openapi.py, test_fuzz_ui.py): the callers, hostile
values that generated input rarely contains on its own, the check on every answer, and a network
guard so that nothing a fuzzed setting names (an SMTP host, an SMS gateway) is ever contacted."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from tests.factories import bearer, create_user
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import full_headers, login, save_platform
from twostep.domain.ids import new_id, now_ms
from twostep.storage import tables as t

CALLERS = ("anonymous", "pre_verification", "sysadmin", "tenant_admin")

# Deterministic (the same examples on every run: CI is never flaky) and bounded: both backends'
# fuzzing together stays within a few minutes on two cores.
FUZZ = settings(
    # TWOSTEP_FUZZ_EXAMPLES=200 fuzzes deeper by hand (TWOSTEP_FUZZ_SEED varies the examples).
    max_examples=int(os.environ.get("TWOSTEP_FUZZ_EXAMPLES", "6")),
    deadline=None,
    derandomize="TWOSTEP_FUZZ_SEED" not in os.environ,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure reports its example as is
    suppress_health_check=list(HealthCheck),
)

# The schema declares few request bodies (most routes read ThingsBoard's JSON themselves), so
# generated bodies also use the field names the API reads: a body of random values under these
# names reaches the routes' own checks and the services behind them.
TEXT_FIELDS = (
    "username", "password", "refreshToken", "activateToken", "resetToken", "currentPassword",
    "newPassword", "verificationCode", "email", "key", "providerType", "authUrl", "phoneNumber",
    "title", "name", "firstName", "lastName", "authority", "description", "region", "country",
    "city", "address", "phone", "numberTo", "message", "type", "issuerName", "baseUrl",
    "smtpHost", "mailFrom", "verificationCodeCheckRateLimit", "smsVerificationMessageTemplate",
    "userLockoutNotificationEmail", "entityType",
)  # fmt: skip
NUMBER_FIELDS = (
    "version", "smtpPort", "timeout", "verificationCodeLifetime", "codesQuantity",
    "minVerificationCodeSendPeriod", "maxVerificationFailuresBeforeUserLockout",
    "totalAllowedTimeForVerification", "maxFailedLoginAttempts", "minimumLength",
    "maximumLength", "passwordExpirationPeriodDays", "passwordReuseFrequencyDays",
    "mobileSecretKeyLength", "userActivationTokenTtl", "passwordResetTokenTtl", "port",
)  # fmt: skip
ID_FIELDS = ("id", "tenantId", "customerId", "tenantProfileId")  # {"entityType": .., "id": ..}
OBJECT_FIELDS = ID_FIELDS + (
    "additionalInfo", "jsonValue", "passwordPolicy", "providerConfiguration",
    "enforcedUsersFilter", "profileData",
)  # fmt: skip
LIST_FIELDS = ("providers", "codes", "tenantsIds", "tenantProfilesIds")
FIELDS = TEXT_FIELDS + NUMBER_FIELDS + OBJECT_FIELDS + LIST_FIELDS
PLAUSIBLE_TEXTS = (
    SYSADMIN_EMAIL, "fuzz-admin@example.com", "TOTP", "SMS", "EMAIL", "BACKUP_CODE", "mail",
    "sms", "general", "TENANT_ADMIN", "CUSTOMER_USER", "SYS_ADMIN", "TENANT", "USER", "CUSTOMER",
    "+15550001111", "123456", "0123456789abcdef", "13814000-1dd2-11b2-8080-808080808080",
    "3:900", "Code: ${code}", "http://127.0.0.1:9", "SMPP", "TWILIO", "AWS_SNS", "x" * 300,
)  # fmt: skip

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(PLAUSIBLE_TEXTS),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
# None: the body schemathesis generated (or none); otherwise an object of the API's fields.
BODIES = st.one_of(st.none(), st.dictionaries(st.sampled_from(FIELDS), _values, max_size=8))

LONE_SURROGATE = "\ud800x@a.com"
HOSTILE_TEXTS = [
    LONE_SURROGATE,
    "a\x00b",
    "\udc00",
    "x" * 70_000,  # beyond the body limit once serialised
    "../../etc/passwd",
    "${jndi:ldap://127.0.0.1/x}",
    "\u202e\ufeff",
]
HOSTILE_NUMBERS = [2**63, -(2**63) - 1, 10**30, 2**31, -1, 0, 1e308, float("nan"), float("inf")]


def hostile_bodies(value: Any) -> list[dict[str, Any]]:
    """Every field the API reads holding the hostile value: once with no ids and with empty
    objects and lists beside them (so that no id or nested check refuses the body before the
    value is used), once with the value in the ids, objects and lists too."""
    flat = {name: value for name in TEXT_FIELDS + NUMBER_FIELDS}
    objects = {name: {} for name in OBJECT_FIELDS if name not in ID_FIELDS}
    shallow = flat | objects | {name: [] for name in LIST_FIELDS}
    nested = flat | {name: dict(flat) for name in OBJECT_FIELDS}
    return [shallow, nested | {name: [value, dict(flat)] for name in LIST_FIELDS}]


class Deep:
    """`value` inside `levels` objects {"a": ...}: written by hand when sent, so that the test
    itself never recurses that deep (json.dumps would, and fail near Python's limit)."""

    def __init__(self, value: Any, levels: int) -> None:
        self.value, self.levels = value, levels

    def __repr__(self) -> str:
        return f"Deep({self.value!r}, {self.levels})"


def deep(value: Any, levels: int) -> Any:
    return Deep(value, levels)


# One salt per example: most examples go out as generated; the others carry one hostile value.
SALTS = st.one_of(
    st.just(None),
    st.just(None),
    st.tuples(st.just("text"), st.sampled_from(HOSTILE_TEXTS)),
    st.tuples(st.just("number"), st.sampled_from(HOSTILE_NUMBERS)),
    st.tuples(st.just("deep"), st.sampled_from([40, 3000])),
)
# And every class of issue 15 once on every operation and caller, whatever was drawn above.
SWEEP = [
    ("text", LONE_SURROGATE),
    ("text", "a\x00b"),
    ("text", "x" * 300),  # longer than any text column (PostgreSQL refuses, SQLite stores)
    ("number", 2**63),
    ("number", float("nan")),
    ("deep", 40),
    ("deep", 3000),
]


def swept(query: dict[str, Any], salt: tuple[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """The bodies and queries of the sweep requests: the hostile value everywhere it fits."""
    kind, value = salt
    if kind == "deep":
        if value > 100:  # the parser's own limit: one bare chain, as an attacker writes it
            return [(deep(1, value), query)]
        nested = {name: deep("fuzz", value) for name in OBJECT_FIELDS}
        return [({**{name: "fuzz" for name in TEXT_FIELDS}, **nested}, query)]
    if kind == "number" or _fits_an_address(value):
        query = {name: value for name in query}
    return [(body, query) for body in hostile_bodies(value)]


def salted(body: Any, query: dict[str, Any], salt: Any) -> tuple[Any, dict[str, Any]]:
    """The body and query with the salt put into the first place it fits."""
    if salt is None:
        return body, query
    kind, value = salt
    if isinstance(body, bytes):  # a raw negative case: sent as generated
        return body, query
    if kind == "deep":
        return deep(body if body is not None else 1, value), query
    if isinstance(body, dict) and body:
        key = next(iter(body))
        return {**body, key: value}, query
    if isinstance(body, dict) or body is None:
        if query and kind == "number":
            key = next(iter(query))
            return body, {**query, key: value}
        if query and kind == "text" and _fits_an_address(value):
            key = next(iter(query))
            return body, {**query, key: value}
        return ({"username": value, "password": value} if body is None else {"value": value}), query
    return [value, body], query


def _fits_an_address(text: str) -> bool:
    # No lone surrogates (no client can encode them) and nothing longer than uvicorn's request
    # line allows (it refuses those itself, before any app, in plain text).
    return len(text) < 1000 and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def serialise(body: Any) -> bytes:
    """JSON as a client may send it: lone surrogates as \\u escapes, NaN and Infinity as Python
    writes them (not JSON, but sent by careless clients)."""
    if isinstance(body, bytes):  # schemathesis's negative cases may be raw bytes already
        return body
    return _json(body).encode()


def _json(value: Any) -> str:
    if isinstance(value, Deep):
        return '{"a":' * value.levels + _json(value.value) + "}" * value.levels
    if isinstance(value, dict) and any(isinstance(v, Deep) for v in value.values()):
        items = (f"{json.dumps(str(k))}:{_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    return json.dumps(value, allow_nan=True)


class ServerErrors(logging.Handler):
    """Every unhandled exception the server logs (uvicorn drops the connection after those)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Exception in ASGI application" in record.getMessage():
            self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[ServerErrors]:
    handler = ServerErrors()
    loggers = [logging.getLogger(n) for n in ("uvicorn.error", "twostep.errors", "twostep")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def _loopback(host: Any) -> bool:
    if host in (None, "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzzed mail and SMS settings name arbitrary hosts: resolve only loopback addresses, so
    the test-send endpoints fail locally instead of reaching out."""
    original = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, "fuzzing: only loopback addresses")
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


def _user_with_totp(container: Any, email: str, password: str) -> None:
    """A user with an authenticator app, written straight into the database (enrolling over HTTP
    may wait for the next 30 s step; the fuzz tests need the login answer, not the enrollment)."""
    user_id = create_user(container, email, password)
    config_id = new_id()
    with container.db.transaction() as conn:
        conn.execute(
            t.twofa_config.insert().values(
                id=config_id, user_id=user_id, provider_type="TOTP", position=0,
                use_by_default=True, created_time=now_ms(), totp_issuer="ThingsBoard",
                totp_secret_enc=container.box.seal(
                    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", context=f"totp:{config_id}"
                ),
            )
        )


def caller_token(caller: str, container: Any, client: Any) -> str | None:
    """A token of the caller, made on a clean database (the `container` fixture)."""
    if caller == "anonymous":
        return None
    if caller == "sysadmin":
        return full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)["X-Authorization"][7:]
    if caller == "tenant_admin":
        create_user(container, "fuzz-admin@example.com", "fuzz-Pa55word")
        return full_headers(client, "fuzz-admin@example.com", "fuzz-Pa55word")["X-Authorization"][7:]
    admin = full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    save_platform(client, admin, maxVerificationFailuresBeforeUserLockout=100)
    _user_with_totp(container, "fuzz-2fa@example.com", "fuzz2fa-Pa55word")
    answer = login(client, "fuzz-2fa@example.com", "fuzz2fa-Pa55word")
    assert answer["scope"] == "PRE_VERIFICATION_TOKEN", answer
    return str(answer["token"])


def headers_of(token: str | None) -> dict[str, str]:
    return bearer(token) if token else {}


def assert_answered(response: requests.Response, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and response.content:
        body = response.json()
        assert {"status", "message", "errorCode", "timestamp"} <= set(body), (what, body)
