"""What a request may carry as text and JSON, checked before any route reads it.

Python's json module accepts documents that break later, far from the parser: lone surrogates
(`"\\ud800"`, valid JSON escapes but not Unicode: every encode to UTF-8 fails, in the database
driver or in the error answer), nesting deep enough to exhaust the recursion limit, integers of
any size (no database column holds them), `NaN` and `Infinity` (not JSON at all, RFC 8259 §6), and
NUL characters (PostgreSQL refuses them in text). Each is refused here as a 400 instead.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32  # far deeper than any body of the API (ThingsBoard's deepest, profileData, has 5)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT_CHARS = len(str(INT64_MIN))

NOT_UNICODE = "Invalid request body: text must be valid Unicode (lone surrogate)"
TOO_DEEP = f"Invalid request body: JSON nested more than {MAX_DEPTH} levels"
BAD_NUMBER = "Invalid request body: a number is out of range (64-bit integers, finite numbers)"
NUL_IN_BODY = "Invalid request body: text must not contain NUL characters"


class Refused(Exception):
    """The body is JSON that must not reach a route; `message` is the 400's message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _int64(text: str) -> int:
    if len(text) > _MAX_INT_CHARS:  # before int(): no work on a 4,000-digit number
        raise Refused(BAD_NUMBER)
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise Refused(BAD_NUMBER)
    return value


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf
        raise Refused(BAD_NUMBER)
    return value


def _no_constants(text: str) -> float:
    raise Refused(BAD_NUMBER)  # NaN, Infinity, -Infinity


def text_problem(text: str) -> str | None:
    """Why a text cannot be taken (NUL, lone surrogate), or None."""
    if "\x00" in text:
        return NUL_IN_BODY
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return NOT_UNICODE
    return None


def check(raw: bytes) -> None:
    """Raise Refused when `raw` is JSON that must be refused. A body that is not JSON at all is
    left to the route, which answers it as ThingsBoard does (the login's 401, others' 400)."""
    try:
        document = json.loads(
            raw, parse_int=_int64, parse_float=_finite, parse_constant=_no_constants
        )
    except RecursionError:
        raise Refused(TOO_DEEP) from None
    except ValueError:  # not JSON (UnicodeDecodeError included): the route's own answer
        return
    _walk(document)


def _walk(document: Any) -> None:
    """Depth, keys and strings, without recursion."""
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise Refused(problem)
        elif isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise Refused(TOO_DEEP)
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
