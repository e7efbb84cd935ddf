"""Browser, OS and device from a User-Agent header, as ThingsBoard's audit entries show them."""

from __future__ import annotations

from functools import lru_cache


def _version(family: str, *parts: str | None) -> str:
    shown = [p for p in parts if p]
    return f"{family} {'.'.join(shown)}" if shown else family


@lru_cache(maxsize=512)
def describe(user_agent: str | None) -> dict[str, str]:
    if not user_agent:
        return {"browser": "Unknown", "os": "Unknown", "device": "Unknown"}
    from ua_parser import parse  # imported lazily: its regex table is large

    result = parse(user_agent[:512])
    ua, os_, device = result.user_agent, result.os, result.device
    return {
        "browser": _version(ua.family, ua.major, ua.minor, ua.patch) if ua else "Other",
        "os": _version(os_.family, os_.major, os_.minor) if os_ else "Other",
        "device": device.family if device else "Other",
    }
