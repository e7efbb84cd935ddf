"""A mini SMSC: asyncio SMPP server on smpplib's PDU codec, in its own thread.

Checks bind credentials (wrong ones get ESME_RBINDFAIL), answers submit_sm, enquire_link and
unbind, and records every bind and submit_sm with its TON/NPI and data_coding."""

from __future__ import annotations

import asyncio
import itertools
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import smpplib.consts as K
import smpplib.smpp

from tests.support import free_port

SYSTEM_ID = "esme1"
PASSWORD = "smpp-pw1"  # SMPP passwords are at most 8 characters


class _Codec:
    """The bit of smpplib's client that the PDU codec needs."""

    allow_unknown_opt_params = True

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def next_sequence(self) -> int:
        return next(self._seq)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Submitted:
    destination: str
    dest_ton: int
    dest_npi: int
    source: str | None
    source_ton: int
    data_coding: int
    esm_class: int
    short_message: bytes

    def text(self) -> str:
        payload = self.short_message
        if self.esm_class & K.SMPP_GSMFEAT_UDHI:
            payload = payload[1 + payload[0] :]  # drop the user data header
        if self.data_coding == K.SMPP_ENCODING_ISO10646:
            return payload.decode("utf-16-be")
        if self.data_coding == K.SMPP_ENCODING_ISO88591:
            return payload.decode("iso-8859-1")
        from smpplib.gsm import GSM_CHARACTER_TABLE

        return "".join(GSM_CHARACTER_TABLE[b] for b in payload if b != 0x1B)


@dataclass
class Smsc:
    port: int
    system_id: str = SYSTEM_ID
    password: str = PASSWORD
    submit_status: int = 0  # non-zero: refuse every submit_sm with this status
    binds: list[dict[str, Any]] = field(default_factory=list)
    submitted: list[Submitted] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        codec = _Codec()

        async def send(name: str, seq: int, status: int = 0, **kw: Any) -> None:
            pdu = smpplib.smpp.make_pdu(name, client=codec, **kw)
            pdu.sequence = seq
            pdu.status = status
            writer.write(pdu.generate())
            await writer.drain()

        try:
            while True:
                header = await reader.readexactly(4)
                (length,) = struct.unpack(">I", header)
                pdu = smpplib.smpp.parse_pdu(
                    header + await reader.readexactly(length - 4), client=codec
                )
                if pdu.command in ("bind_transceiver", "bind_transmitter", "bind_receiver"):
                    ok = (
                        _text(pdu.system_id) == self.system_id
                        and _text(pdu.password) == self.password
                    )
                    self.binds.append(
                        {
                            "command": pdu.command,
                            "system_id": _text(pdu.system_id),
                            "interface_version": pdu.interface_version,
                            "addr_ton": pdu.addr_ton,
                            "addr_npi": pdu.addr_npi,
                            "ok": ok,
                        }
                    )
                    status = 0 if ok else K.SMPP_ESME_RBINDFAIL
                    await send(
                        pdu.command + "_resp", pdu.sequence, status=status, system_id="MiniSMSC"
                    )
                    if not ok:
                        break
                elif pdu.command == "submit_sm":
                    if self.submit_status:
                        await send("submit_sm_resp", pdu.sequence, status=self.submit_status)
                        continue
                    self.submitted.append(
                        Submitted(
                            destination=_text(pdu.destination_addr) or "",
                            dest_ton=pdu.dest_addr_ton,
                            dest_npi=pdu.dest_addr_npi,
                            source=_text(pdu.source_addr),
                            source_ton=pdu.source_addr_ton,
                            data_coding=pdu.data_coding,
                            esm_class=pdu.esm_class,
                            short_message=bytes(pdu.short_message or b""),
                        )
                    )
                    await send("submit_sm_resp", pdu.sequence, message_id=f"m{len(self.submitted)}")
                elif pdu.command == "enquire_link":
                    await send("enquire_link_resp", pdu.sequence)
                elif pdu.command == "unbind":
                    await send("unbind_resp", pdu.sequence)
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextmanager
def smsc_server(**options: Any) -> Iterator[Smsc]:
    smsc = Smsc(port=free_port(), **options)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(
            asyncio.start_server(smsc.handle, "127.0.0.1", smsc.port)
        )
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(5), "SMSC did not start"
    try:
        yield smsc
    finally:

        async def close() -> None:
            holder["server"].close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
