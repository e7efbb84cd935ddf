"""ThingsBoard's password policy check (Passay 1.6.4 rules and messages), all failures reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_SPECIAL = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_SPECIAL |= {chr(c) for c in range(0xA1, 0xC0)} | {"\u00d7", "\u00f7"}
_SPECIAL |= {chr(c) for c in range(0x2013, 0x2016)} | {chr(c) for c in range(0x2017, 0x201F)}
_SPECIAL |= {chr(c) for c in (0x2020, 0x2021, 0x2022, 0x2026, 0x2030, 0x2032, 0x2033, 0x2039, 0x203A,
                              0x203C, 0x203E, 0x2044, 0x204A)}
_SPECIAL |= {chr(c) for c in range(0x20A0, 0x20BF)}
_WHITESPACE_ORDER = ["\t", "\n", "\x0b", "\x0c", "\r", " "]


def _positive(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def violations(password: str, policy: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    length = len(password.encode("utf-16-le")) // 2  # Java String.length(): UTF-16 units
    minimum = policy.get("minimumLength") or 0
    maximum = policy.get("maximumLength")
    if length < minimum:
        problems.append(f"Password must be {minimum} or more characters in length.")
    elif isinstance(maximum, int) and maximum > minimum and length > maximum:
        problems.append(f"Password must be no more than {maximum} characters in length.")
    rules: list[tuple[str, Callable[[str], bool], str]] = [
        ("minimumUppercaseLetters", lambda ch: "A" <= ch <= "Z", "uppercase"),
        ("minimumLowercaseLetters", lambda ch: "a" <= ch <= "z", "lowercase"),
        ("minimumDigits", lambda ch: "0" <= ch <= "9", "digit"),
        ("minimumSpecialCharacters", lambda ch: ch in _SPECIAL, "special"),
    ]
    for key, matches, name in rules:
        need = _positive(policy.get(key))
        if need and sum(1 for ch in password if matches(ch)) < need:
            problems.append(f"Password must contain {need} or more {name} characters.")
    if policy.get("allowWhitespaces") is False:
        for ch in _WHITESPACE_ORDER:
            if ch in password:
                problems.append("Password contains a whitespace character.")
    return problems
