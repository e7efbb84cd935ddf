"""AWS SNS on 127.0.0.1: moto's server in a thread. Published SMS are read back over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import free_port

ACCESS_KEY_ID = "AKIDTESTING0000000001"
SECRET_ACCESS_KEY = "testing-secret-Access-Key-0123456789"


@dataclass
class SnsPeer:
    url: str

    def sms(self) -> list[dict[str, Any]]:
        data = httpx.get(f"{self.url}/moto-api/data.json", timeout=5).json()
        return list(data.get("sns", {}).get("SMS", []))

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=5)


@contextmanager
def sns_server() -> Iterator[SnsPeer]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in test output
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield SnsPeer(url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()
