"""The names the Security page shows for sign-ins, from their User-Agent headers."""

from __future__ import annotations

import pytest

from twostep.domain.useragent import device_name


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox on Windows",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
            " Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome Mobile on Android",
        ),
        ("python-requests/2.32.3", "Python Requests"),
        ("", "Unknown device"),
        (None, "Unknown device"),
        ("inhouse-sync", "inhouse-sync"),  # nothing known: the header itself
        ("x" * 300, "x" * 80),
    ],
)
def test_device_names(agent: str | None, name: str) -> None:
    assert device_name(agent) == name
