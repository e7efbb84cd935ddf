"""Send caps (spec/security.md A17): each cap holds exactly under bursts of parallel sends,
refusals are audited, the country allow-list is enforced, counters hold no phone numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from twostep.domain.errors import BadRequest, TooManyRequests
from twostep.services.notifications.send_caps import check_send_allowed, parse_cap
from twostep.storage import tables as t

UNLIMITED = "100000:3600"
ALL_CAPS = (
    "sms_cap_per_user", "sms_cap_per_destination", "sms_cap_per_client", "sms_cap_per_block",
    "sms_cap_per_country", "sms_cap_global", "email_cap_per_user", "email_cap_per_destination",
    "email_cap_per_client", "email_cap_global",
)  # fmt: skip


@pytest.fixture
def caps(container: Any) -> Any:
    """Every cap effectively off; a test then sets the one it exercises."""
    for name in ALL_CAPS:
        setattr(container.config, name, UNLIMITED)
    return container


def sysadmin_id(container: Any) -> Any:
    with container.db.read() as conn:
        return conn.execute(
            select(t.user.c.id).where(t.user.c.authority == "SYS_ADMIN")
        ).scalar_one()


def attempt(container: Any, **kwargs: Any) -> str:
    args = {
        "channel": "sms",
        "user_id": "u1",
        "destination": "+12015551111",
        "client_address": "198.51.100.1",
    }
    args.update(kwargs)
    try:
        check_send_allowed(container, **args)
        return "sent"
    except TooManyRequests:
        return "capped"


def burst(container: Any, calls: list[dict[str, Any]]) -> list[str]:
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(lambda kw: attempt(container, **kw), calls))


def test_parse_cap() -> None:
    cap = parse_cap("5:60")
    assert cap is not None and (cap.count, cap.period_s) == (5, 60)
    assert parse_cap("") is None and parse_cap("0:0") is None
    with pytest.raises(ValueError):
        parse_cap("5")


def test_burst_to_one_number_respects_the_destination_cap(caps: Any) -> None:
    caps.config.sms_cap_per_destination = "5:3600"
    calls = [{"user_id": f"user-{i}", "client_address": f"198.51.100.{i}"} for i in range(40)]
    results = burst(caps, calls)
    assert results.count("sent") == 5
    # Another number is not affected.
    assert attempt(caps, destination="+12015552222") == "sent"


def test_burst_to_many_numbers_respects_the_user_cap(caps: Any) -> None:
    caps.config.sms_cap_per_user = "7:3600"
    calls = [{"user_id": "victim", "destination": f"+1201555{i:04d}"} for i in range(40)]
    assert burst(caps, calls).count("sent") == 7
    assert attempt(caps, user_id="someone-else") == "sent"


def test_burst_from_one_client_respects_the_client_cap(caps: Any) -> None:
    caps.config.sms_cap_per_client = "6:3600"
    calls = [{"user_id": f"u{i}", "destination": f"+4474009{i:05d}"} for i in range(30)]
    assert burst(caps, calls).count("sent") == 6


def test_sequential_numbers_respect_the_block_cap(caps: Any) -> None:
    caps.config.sms_cap_per_block = "4:3600"
    calls = [{"user_id": f"u{i}", "destination": f"+447400123{i:03d}"} for i in range(20)]
    assert burst(caps, calls).count("sent") == 4
    assert attempt(caps, user_id="x", destination="+447400124000") == "sent"  # next block


def test_country_velocity_cap(caps: Any) -> None:
    caps.config.sms_cap_per_country = "3:3600"
    calls = [{"user_id": f"u{i}", "destination": f"+234803{i:07d}"} for i in range(10)]
    assert burst(caps, calls).count("sent") == 3
    assert attempt(caps, destination="+12015551111") == "sent"


def test_global_budget(caps: Any) -> None:
    caps.config.sms_cap_global = "9:86400"
    calls = [
        {"user_id": f"u{i}", "destination": f"+49151{i:08d}", "client_address": f"203.0.113.{i}"}
        for i in range(30)
    ]
    assert burst(caps, calls).count("sent") == 9


def test_email_caps_ignore_case(caps: Any) -> None:
    caps.config.email_cap_per_destination = "3:3600"
    calls = [
        {
            "channel": "email",
            "user_id": f"u{i}",
            "destination": ("User@Example.com" if i % 2 else "user@example.com"),
        }
        for i in range(12)
    ]
    assert burst(caps, calls).count("sent") == 3


def test_refusals_are_audited(caps: Any) -> None:
    caps.config.sms_cap_per_user = "1:3600"
    user = sysadmin_id(caps)
    assert attempt(caps, user_id=user) == "sent"
    assert attempt(caps, user_id=user) == "capped"
    with caps.db.read() as conn:
        [entry] = conn.execute(
            select(t.audit_log).where(t.audit_log.c.action_type == "SMS_SENT")
        ).all()
    assert entry.action_status == "FAILURE"
    assert entry.entity_id == user and entry.user_id == user
    assert entry.action_data["recipientNumber"] == "+12015551111"
    assert "per user cap exceeded" in entry.action_failure_details


def test_country_allow_list(caps: Any) -> None:
    caps.config.sms_allowed_country_codes = "44, 49"
    assert attempt(caps, destination="+447400900123") == "sent"
    assert attempt(caps, destination="+4915112345678") == "sent"
    with pytest.raises(BadRequest, match=r"country code \+1 is not allowed"):
        attempt(caps, destination="+12015551111")
    with pytest.raises(BadRequest, match=r"country code \+882 is not allowed"):
        attempt(caps, destination="+882160001234")


def test_non_e164_destination_is_refused(caps: Any) -> None:
    for bad in ("15550001111", "+0123", "+1 555 000", "", "+1555000111122223"):
        with pytest.raises(BadRequest):
            attempt(caps, destination=bad)


def test_counters_hold_no_phone_numbers(caps: Any) -> None:
    attempt(caps, destination="+12015559876", client_address="198.51.100.77")
    with caps.db.read() as conn:
        keys = [row.key for row in conn.execute(select(t.rate_limit.c.key))]
    assert keys and not any("2015559876" in k or "198.51.100.77" in k for k in keys)
