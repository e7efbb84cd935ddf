"""Every settings value is bounded when it is saved, and read defensively where it is used
(issue 15 §5): a check rate limit of "1:99999999999999999999" was accepted, and afterwards every
second-step check answered 500 (SQLite: the window's end overflowed the column) or 503 (Redis
refused the expiry)."""

from __future__ import annotations

import pytest
import redis

from tests.factories import oathtool
from tests.factories import platform as platform_body
from tests.security.helpers import check, dump_database, pv_of, wrong_totp
from tests.twofa_helpers import save_platform
from twostep.services.records import stored_settings
from twostep.services.twofa import platform_settings
from twostep.state.redis_limiter import RedisLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"

BAD_RATE_LIMITS = [
    "1:99999999999999999999",
    "99999999999999999999:60",
    "1001:60",
    "3:86401",
    "3:" + "9" * 5000,
]


@pytest.mark.parametrize("rate", BAD_RATE_LIMITS, ids=lambda r: r[:24])
def test_check_rate_limits_beyond_the_bounds_are_refused(client, sysadmin_headers, rate) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/2fa/settings",
        headers=sysadmin_headers,
        json=platform_body(verificationCodeCheckRateLimit=rate),
    )
    assert r.status_code == 400, r.text
    assert "verificationCodeCheckRateLimit" in r.json()["message"]


def test_the_largest_check_rate_limit_is_taken(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    saved = save_platform(client, sysadmin_headers, verificationCodeCheckRateLimit="1000:86400")
    assert saved["verificationCodeCheckRateLimit"] == "1000:86400"


def _store_unbounded_rate_limit(container) -> None:  # type: ignore[no-untyped-def]
    """A value saved before the bound existed: written straight into the database."""
    with container.db.transaction() as conn:
        stored = stored_settings.get(conn, platform_settings.KEY)
        assert stored is not None
        stored["verificationCodeCheckRateLimit"] = "2:99999999999999999999"
        stored_settings.put(conn, platform_settings.KEY, stored)


def _checks_still_answer(client, victim) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    r = check(client, pv, "TOTP", wrong_totp(victim.secret))
    assert r.status_code == 400, r.text
    r = check(client, pv, "TOTP", oathtool(victim.secret))
    assert r.status_code == 200, r.text
    # The stored value is read clamped to the bound: the limit still holds (2 per window).
    pv = pv_of(client, victim)
    statuses = [check(client, pv, "TOTP", wrong_totp(victim.secret)).status_code for _ in range(3)]
    assert statuses == [400, 400, 429], statuses


def test_a_stored_unbounded_rate_limit_is_read_within_the_bound(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    _store_unbounded_rate_limit(container)
    _checks_still_answer(client, victim)


def test_a_stored_unbounded_rate_limit_is_read_within_the_bound_on_redis(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    limiter = RedisLimiter(REDIS_URL)
    try:
        limiter.ping()
    except Exception:  # noqa: BLE001
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    database_limiter, container.limiter = container.limiter, limiter
    try:
        _store_unbounded_rate_limit(container)
        _checks_still_answer(client, victim)
    finally:
        container.limiter = database_limiter
        keys = redis.Redis.from_url(REDIS_URL).keys(f"twostep:rl:*{victim.id}*")
        if keys:
            redis.Redis.from_url(REDIS_URL).delete(*keys)
        limiter.close()


BAD_SECURITY_SETTINGS = {
    "maximumLength": ("passwordPolicy", 10**9),
    "minimumDigits": ("passwordPolicy", 10**9),
    "passwordExpirationPeriodDays": ("passwordPolicy", 10**12),
    "passwordReuseFrequencyDays": ("passwordPolicy", 10**12),
    "mobileSecretKeyLength": (None, 10**9),
}


@pytest.mark.parametrize("name", list(BAD_SECURITY_SETTINGS))
def test_security_settings_beyond_their_bounds_are_refused(client, sysadmin_headers, name) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    where, value = BAD_SECURITY_SETTINGS[name]
    (body[where] if where else body)[name] = value
    r = client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=body)
    assert r.status_code == 400, r.text
    assert name in r.json()["message"]


def test_an_smpp_port_beyond_65535_is_refused(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    body = {
        "key": "sms",
        "jsonValue": {
            "type": "SMPP",
            "protocolVersion": "3.4",
            "host": "127.0.0.1",
            "port": 99999,
            "systemId": "id",
            "password": "pw",
        },
    }
    r = client.post("/api/admin/settings", headers=sysadmin_headers, json=body)
    assert r.status_code == 400, r.text
    assert "port" in r.json()["message"]


def test_a_test_sms_without_a_provider_configuration_is_a_bad_request(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    """Found by the fuzzer: a malformed request, not a failed send (ThingsBoard: 500); nothing
    is audited, since nothing was attempted."""
    before = dump_database(container)
    for body in (
        {},
        {"providerConfiguration": "SMPP", "numberTo": "+15550001111"},
        {"providerConfiguration": {}, "numberTo": "+15550001111"},
        {"providerConfiguration": {"type": "CARRIER_PIGEON"}, "numberTo": "+15550001111"},
    ):
        r = client.post("/api/admin/settings/testSms", headers=sysadmin_headers, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["errorCode"] == 31
    assert dump_database(container) == before
