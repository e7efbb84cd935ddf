"""Structured logs: one JSON object per line, with the request id, and never a secret.

What never reaches a log line, whatever a caller passes:
- Authorization / X-Authorization / Cookie header values (tokens), in any field or message;
- query strings (the second-step check carries `verificationCode` in its query string);
- request and response bodies (passwords, codes, secrets): nothing here ever logs one.

uvicorn's own access log prints the full request line including the query string, so `serve`
turns it off and web/observability.py writes the access line (path only) instead.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
from typing import Any

# The id of the request being served (set by the request-id middleware; "-" outside a request).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "twostep_request_id", default="-"
)

# Values that must never be printed even if a message or an `extra` carries them. A new pattern
# must need one of _TRIGGERS (below) to match, or scrub() would skip it.
_SECRET_PATTERNS = [
    # SQLAlchemy error text quotes the bound parameters of the failed statement: never print them.
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: redacted]"),
    # Bearer tokens and JWTs anywhere.
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    # Query-string style secrets: verificationCode=123456, password=..., resetToken=...
    (
        re.compile(
            r"(?i)\b(verificationCode|code|password|secret|token|resetToken|activateToken|"
            r"refreshToken|authUrl)=([^&\s\"']*)"
        ),
        r"\1=[redacted]",
    ),
    # Header-style lines: "X-Authorization: ...", "authorization': '..."
    (
        re.compile(
            r"(?i)\b(x-authorization|authorization|cookie|set-cookie)(['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+"
        ),
        r"\1\2[redacted]",
    ),
]

_SENSITIVE_KEYS = {
    "authorization",
    "x-authorization",
    "cookie",
    "set-cookie",
    "password",
    "verificationcode",
    "code",
    "secret",
    "token",
    "refreshtoken",
    "body",
    "query",
    "query_string",
    "headers",
}

# LogRecord attributes that are not user-supplied `extra` fields.
_STANDARD_ATTRS = set(
    vars(logging.LogRecord("x", logging.INFO, __file__, 0, "", None, None)).keys()
) | {"message", "asctime", "color_message", "taskName"}


# Every pattern above needs one of these (lower-cased) in the text to match; an ASCII text with
# none of them, like most log values, is left as it is without running the five substitutions.
# (Only ASCII: case-insensitive matching also pairs some non-ASCII letters with ASCII ones.)
_TRIGGERS = ("[parameters:", "bearer", "eyj", "=", "authorization", "cookie")


def scrub(text: str) -> str:
    if text.isascii():
        lowered = text.lower()
        if not any(trigger in lowered for trigger in _TRIGGERS):
            return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _safe_value(key: str, value: Any) -> Any:
    if key.lower() in _SENSITIVE_KEYS:
        return "[redacted]"
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and safe extras."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a broken %-format must not lose the line)
            message = str(record.msg)
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(message),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD_ATTRS or key in entry or key.startswith("_"):
                continue
            entry[key] = _safe_value(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and a scrubbed traceback; exception messages may quote input.
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A logging.config.dictConfig for the server (also given to uvicorn, so every worker process
    configures itself the same way): JSON to stderr for twostep and uvicorn, no access log."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "twostep.logging_setup.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "twostep": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            # The access log prints query strings (verification codes): always off.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


def configure(level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(log_config(level))
