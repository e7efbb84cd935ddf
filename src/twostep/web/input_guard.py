"""Refuses malformed input before any route runs (ASGI middleware).

- Path and query string: no NUL character, percent-encoded or not (PostgreSQL cannot store or
  even compare it; SQLite would store it). Lone surrogates cannot arrive there: percent-decoding
  replaces bytes that are not UTF-8.
- Bodies of the API and of the UI's session endpoints, whatever their content type (the login
  reads its body as JSON whatever the header says): the checks of web/strict_json.py.

Refusals are 400s in ThingsBoard's error shape with errorCode 31; the body is read to its end
first, so the keep-alive connection serves the next request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twostep.web import strict_json
from twostep.web.middleware import send_error

NUL_IN_REQUEST = "Invalid request: the address must not contain NUL characters"
_CHECKED_BODIES = ("/api/", "/ui/")


def _target_problem(scope: Scope) -> str | None:
    query: bytes = scope.get("query_string", b"")
    if "\x00" in scope["path"] or b"\x00" in query or b"%00" in query:
        return NUL_IN_REQUEST
    return None


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _target_problem(scope)
        if problem is None and not scope["path"].startswith(_CHECKED_BODIES):
            await self.app(scope, receive, send)
            return
        body, disconnected = await _read_body(receive)
        if problem is None and body:
            try:
                strict_json.check(body)
            except strict_json.Refused as refused:
                problem = refused.message
        if problem is not None:
            await send_error(send, 400, problem, 31)
            return
        await self.app(scope, _replay(body, disconnected, receive), send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body (already bounded by the body-limit middleware outside this one)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts), True
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: waits for the client's disconnect

    return replay
