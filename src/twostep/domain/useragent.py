"""Browser, OS and device from a User-Agent header, as ThingsBoard's audit entries show them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


def _version(family: str, *parts: str | None) -> str:
    shown = [p for p in parts if p]
    return f"{family} {'.'.join(shown)}" if shown else family


@lru_cache(maxsize=512)
def _parsed(user_agent: str) -> Any:
    from ua_parser import parse  # imported lazily: its regex table is large

    return parse(user_agent[:512])


@lru_cache(maxsize=512)  # on every login and check (the audit entry): kept as computed
def describe(user_agent: str | None) -> dict[str, str]:
    if not user_agent:
        return {"browser": "Unknown", "os": "Unknown", "device": "Unknown"}
    result = _parsed(user_agent)
    ua, os_, device = result.user_agent, result.os, result.device
    return {
        "browser": _version(ua.family, ua.major, ua.minor, ua.patch) if ua else "Other",
        "os": _version(os_.family, os_.major, os_.minor) if os_ else "Other",
        "device": device.family if device else "Other",
    }


def device_name(user_agent: str | None) -> str:
    """A name a person recognises ("Firefox on Windows"), else the header itself, shortened."""
    if not user_agent:
        return "Unknown device"
    result = _parsed(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent[:80]
