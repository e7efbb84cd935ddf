"""A local stand-in for Twilio's Messages API (stdlib HTTP server), checking requests the way
Twilio does: the path carries the account SID, HTTP Basic auth is SID:token, the form has To,
From (or MessagingServiceSid) and Body. A To in `invalid_numbers` gets Twilio's 400/21211."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-Auth-Token-0123456789"
NUMBER_FROM = "+15005550006"
INVALID_TO = "+15005550001"  # Twilio's magic "invalid number"

_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


@dataclass
class TwilioStub:
    url: str
    accounts: dict[str, str]
    messages: list[dict[str, str]] = field(default_factory=list)
    invalid_numbers: set[str] = field(default_factory=lambda: {INVALID_TO})


def _handler(stub: TwilioStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            match = _PATH.match(self.path)
            if match is None:
                self._reply(
                    404,
                    {
                        "code": 20404,
                        "message": "The requested resource was not found",
                        "status": 404,
                    },
                )
                return
            sid = match["sid"]
            scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
            try:
                user, _, token = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                user, token = "", ""
            if scheme != "Basic" or user != sid or stub.accounts.get(sid) != token:
                self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            to, body = form.get("To"), form.get("Body")
            sender = form.get("From") or form.get("MessagingServiceSid")
            if not to or not body or not sender:
                self._reply(
                    400,
                    {"code": 21604, "message": "A 'To' phone number is required.", "status": 400},
                )
                return
            if to in stub.invalid_numbers:
                self._reply(
                    400,
                    {
                        "code": 21211,
                        "message": f"The 'To' number {to} is not a valid phone number.",
                        "status": 400,
                    },
                )
                return
            stub.messages.append(
                {"account": sid, "user_agent": self.headers.get("User-Agent", ""), **form}
            )
            self._reply(
                201,
                {
                    "sid": "SM" + uuid.uuid4().hex,
                    "account_sid": sid,
                    "to": to,
                    "from": form.get("From"),
                    "messaging_service_sid": form.get("MessagingServiceSid"),
                    "body": body,
                    "status": "queued",
                    "num_segments": str(max(1, -(-len(body) // 153))),
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "uri": f"/2010-04-01/Accounts/{sid}/Messages/SM.json",
                },
            )

    return Handler


@contextmanager
def twilio_stub(accounts: dict[str, str] | None = None) -> Iterator[TwilioStub]:
    stub = TwilioStub(url="", accounts=accounts or {ACCOUNT_SID: AUTH_TOKEN})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
