"""SMS through an SMSC over SMPP 3.3/3.4 with smpplib (ThingsBoard's SmppSmsSender).

One connection per message (connect, bind, submit_sm, unbind): 2FA traffic is low and a fresh
bind never finds a half-dead session. Every socket operation gets the time left of one overall
deadline, so a silent SMSC cannot hold a request longer than the timeout.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from twostep.channels.errors import ChannelConfigError, ChannelSendError, describe, scrub

_VERSIONS = {"3.3": 0x33, "3.4": 0x34}
_BINDS = {"TX": "bind_transmitter", "RX": "bind_receiver", "TRX": "bind_transceiver"}
_CODINGS = {0, 3, 8}  # smpplib can encode SMSC default (GSM 03.38), Latin-1 and UCS-2
MAX_PARTS = 10  # a bound on concatenated parts: a runaway template must not cost 255 messages
_WIRE_LOGGER = "twostep.channels.smpp.wire"  # smpplib hex-dumps PDUs (password, code) at DEBUG


def _byte(config: dict[str, Any], name: str, default: int) -> int:
    value = config.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ChannelConfigError(f"Invalid SMPP configuration: {name} must be a number") from None
    if not 0 <= number <= 255:
        raise ChannelConfigError(f"Invalid SMPP configuration: {name} must be 0..255")
    return number


def _text(config: dict[str, Any], name: str) -> str | None:
    value = config.get(name)
    return str(value) if value not in (None, "") else None


class SmppSender:
    def __init__(self, config: dict[str, Any], *, timeout_s: float) -> None:
        version = str(config.get("protocolVersion", "")).strip()
        if version not in _VERSIONS:
            raise ChannelConfigError(
                "Failed to establish SMPP session: UnsupportedOperationException: "
                f"Unsupported SMPP version: {version[:16]}"
            )
        host, port = _text(config, "host"), config.get("port")
        system_id, password = _text(config, "systemId"), config.get("password")
        if not host or port in (None, "") or not system_id or password is None:
            raise ChannelConfigError(
                "Invalid SMPP configuration: host, port, systemId and password should be specified!"
            )
        try:
            self._port = int(port)  # type: ignore[arg-type]
            if not 0 < self._port < 65536:  # the socket would raise OverflowError when sending
                raise ValueError
        except (TypeError, ValueError):
            raise ChannelConfigError("Invalid SMPP configuration: port must be 1..65535") from None
        bind_type = str(config.get("bindType") or "TX").upper()
        if bind_type not in _BINDS:
            raise ChannelConfigError(
                f"Invalid SMPP configuration: unknown bindType {bind_type[:8]}"
            )
        self._host = host
        self._version = _VERSIONS[version]
        self._bind = _BINDS[bind_type]
        self._system_id = system_id
        self._password = str(password)
        self._system_type = _text(config, "systemType") or ""
        self._service_type = _text(config, "serviceType") or ""
        self._source = _text(config, "sourceAddress")
        self._source_ton = _byte(config, "sourceTon", 5)
        self._source_npi = _byte(config, "sourceNpi", 0)
        self._dest_ton = _byte(config, "destinationTon", 5)
        self._dest_npi = _byte(config, "destinationNpi", 0)
        self._address_range = _text(config, "addressRange") or ""
        coding = _byte(config, "codingScheme", 0)
        self._coding = coding if coding in _CODINGS else 0
        self._timeout_s = timeout_s

    def send(self, to: str, text: str) -> None:
        import smpplib.client
        import smpplib.gsm
        from smpplib import consts

        if not to or not to.strip():
            raise ChannelSendError("Failed to send SMS message - destination number is empty")
        destination = to.strip()
        if self._dest_ton == 1 and destination.startswith("+"):
            destination = destination[1:]  # international TON: digits only
        try:
            # GSM-7 when every character is in the GSM alphabet, else UCS-2 (smpplib falls back).
            parts, coding, esm_class = smpplib.gsm.make_parts(text, encoding=self._coding)
        except Exception as exc:  # noqa: BLE001 (smpplib raises assorted types)
            raise ChannelSendError(f"Failed to send SMS message - {describe(exc)}") from None
        if len(parts) > MAX_PARTS:
            raise ChannelSendError("Failed to send SMS message - message is too long")

        logging.getLogger(_WIRE_LOGGER).setLevel(logging.WARNING)
        deadline = time.monotonic() + self._timeout_s
        client = smpplib.client.Client(
            self._host,
            self._port,
            timeout=self._timeout_s,
            logger_name=_WIRE_LOGGER,
            allow_unknown_opt_params=True,
        )
        try:
            self._open(client, deadline)
            for part in parts:
                self._submit(client, deadline, destination, part, coding, esm_class)
            self._close(client, deadline)
        finally:
            if client._socket is not None:
                client._socket.close()
                client._socket = None
            client.state = consts.SMPP_CLIENT_STATE_CLOSED

    def _open(self, client: Any, deadline: float) -> None:
        from smpplib import consts

        try:
            # smpplib's connect() has no deadline of its own: open the socket here and hand it over.
            client._socket = socket.create_connection(
                (self._host, self._port), timeout=_left(deadline)
            )
            client._socket.settimeout(_left(deadline))
            client.state = consts.SMPP_CLIENT_STATE_OPEN
            self._bind_session(client)
        except Exception as exc:  # noqa: BLE001 (socket, PDU and codec errors alike)
            raise ChannelSendError(
                "Failed to establish SMPP session: " + self._reason(exc, deadline)
            ) from None

    def _bind_session(self, client: Any) -> None:
        from smpplib import exceptions, smpp

        pdu = smpp.make_pdu(
            self._bind,
            client=client,
            system_id=self._system_id,
            password=self._password,
            system_type=self._system_type,
            addr_ton=self._dest_ton,  # ThingsBoard binds with the destination TON/NPI
            addr_npi=self._dest_npi,
            address_range=self._address_range,
        )
        pdu.interface_version = self._version  # the PDU's constructor resets it to 3.4
        client.send_pdu(pdu)
        resp = client.read_pdu()
        if resp.is_error():
            raise exceptions.PDUError(f"Error status when binding: {resp.status}", int(resp.status))

    def _submit(
        self, client: Any, deadline: float, dest: str, part: bytes, coding: int, esm: int
    ) -> None:
        source = {}
        if self._source:
            source = {
                "source_addr": self._source,
                "source_addr_ton": self._source_ton,
                "source_addr_npi": self._source_npi,
            }
        try:
            client._socket.settimeout(_left(deadline))
            pdu = client.send_message(
                service_type=self._service_type,
                dest_addr_ton=self._dest_ton,
                dest_addr_npi=self._dest_npi,
                destination_addr=dest,
                short_message=part,
                data_coding=coding,
                esm_class=esm,
                **source,
            )
            while True:  # skip enquire_link and anything else until our submit_sm_resp
                client._socket.settimeout(_left(deadline))
                resp = client.read_pdu()
                if resp.command == "enquire_link":
                    from smpplib import smpp

                    ack = smpp.make_pdu("enquire_link_resp", client=client)
                    ack.sequence = resp.sequence
                    client.send_pdu(ack)
                    continue
                if resp.sequence == pdu.sequence and resp.command in (
                    "submit_sm_resp",
                    "generic_nack",
                ):
                    break
            if resp.is_error() or resp.command == "generic_nack":
                raise ChannelSendError(
                    f"Failed to send SMS message - SMSC refused the message (status {resp.status})"
                )
        except ChannelSendError:
            raise
        except Exception as exc:  # noqa: BLE001 (socket, PDU and codec errors alike)
            raise ChannelSendError(
                "Failed to send SMS message - " + self._reason(exc, deadline)
            ) from None

    def _close(self, client: Any, deadline: float) -> None:
        # The message is accepted already: an unbind problem is not a failed send.
        try:
            client._socket.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
            client.unbind()
        except Exception:  # noqa: BLE001, S110 (the message is accepted; the socket closes anyway)
            pass

    def _reason(self, exc: BaseException, deadline: float) -> str:
        # smpplib turns a read timeout into a bare ConnectionError(): tell it by the clock.
        if isinstance(exc, (socket.timeout, TimeoutError)) or time.monotonic() >= deadline - 0.05:
            return "Timeout!"
        if isinstance(exc, ConnectionRefusedError):
            return f"Connection refused: {self._host}:{self._port}"
        return scrub(describe(exc), [self._password])


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left
