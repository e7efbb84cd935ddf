"""Errors raised by the transports. Their messages are shown to the sysadmin (ThingsBoard wording
where it exists), so they never contain a password, token, secret key or one-time code."""

from __future__ import annotations


class ChannelError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChannelConfigError(ChannelError):
    """The stored or submitted settings cannot build a transport."""


class ChannelSendError(ChannelError):
    """The transport refused the message, timed out or was unreachable."""


def scrub(text: str, secrets: list[str | None]) -> str:
    """Remove any secret that a peer or a library echoed back into an error text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def describe(exc: BaseException) -> str:
    """`ClassName: message` of an exception, as ThingsBoard prints root causes."""
    # Some libraries raise Error("text", code): show the text, not the tuple.
    args = exc.args
    message = (args[0] if len(args) > 1 and isinstance(args[0], str) else str(exc)).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
