"""Passwords nobody may choose, whatever the policy's length and character rules say (ASVS 6.2.4
and 6.2.12; NIST SP 800-63B-4 §3.1.1.2): the 30,000 most common passwords of public breach
corpora (the list zxcvbn ships), alone or with digits and symbols tacked on, and words of the
context: the user's own email address and the names of the service."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

COMMON = "Password is too common: it is in lists of passwords leaked in breaches. Choose another."
CONTEXT = "Password must not be made of your email address or the name of this service."

SERVICE_NAMES = ("twostep", "thingsboard")
# What people add to a weak password to pass a rule: 'monkey1', 'password2026!', '!!dragon'.
_PADDING = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    # imported lazily: 30,000 entries; the package has no type information
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _context_words(email: str | None) -> set[str]:
    words = set(SERVICE_NAMES)
    if email:
        folded = _fold(email)
        words.add(folded)
        local = folded.split("@", 1)[0]
        parts = re.split(r"[._+-]", local)
        words.update({local, "".join(parts)})
        words.update(part for part in parts if len(part) >= 4)
    return words


def problems(password: str, email: str | None = None) -> list[str]:
    """The reasons `password` may not be chosen (empty when it may)."""
    folded = _fold(password)
    core = _PADDING.sub("", folded)
    if folded in _common() or (core and core in _common()):
        return [COMMON]
    if (core or folded) in _context_words(email) or folded in _context_words(email):
        return [CONTEXT]
    return []
