"""SMS through Twilio's Messages API with the official SDK (ThingsBoard's TwilioSmsSender)."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twostep.channels.errors import ChannelConfigError, ChannelSendError, describe, scrub
from twostep.channels.sms_rules import (
    endpoint_url,
    prepare_message,
    require,
    validate_number,
)
from twostep.domain.contacts import is_e164

INVALID_CONFIG = (
    "Invalid twilio sms provider configuration: accountSid, accountToken and numberFrom "
    "should be specified!"
)
INVALID_FROM = (
    "Invalid phone number format. Phone number must be in E.164 format/Phone Number's SID/"
    "Messaging Service SID."
)
_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")  # goes into the URL path: no '/', '.', '%'

# The SDK logs every request line at INFO; ours stays quiet unless something goes wrong.
_log = logging.getLogger("twostep.channels.twilio")


class TwilioSender:
    def __init__(self, config: dict[str, Any], *, timeout_s: float) -> None:
        sid, token, number_from = (
            config.get("accountSid"),
            config.get("accountToken"),
            config.get("numberFrom"),
        )
        require({"sid": sid, "token": token, "from": number_from}, INVALID_CONFIG)
        assert isinstance(sid, str) and isinstance(token, str) and isinstance(number_from, str)
        if not _SID.fullmatch(sid.strip()):
            raise ChannelConfigError("Invalid twilio sms provider configuration: bad accountSid")
        number_from = number_from.strip()
        if not (is_e164(number_from) or re.match(r"^(PN|MG).*$", number_from)):
            raise ChannelConfigError(INVALID_FROM)
        self._sid = sid.strip()
        self._token = token
        self._from = number_from
        self._endpoint = endpoint_url(config.get("endpointUrl"))
        self._timeout_s = timeout_s

    def _client(self) -> Any:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        endpoint = urlsplit(self._endpoint) if self._endpoint else None

        class _HttpClient(TwilioHttpClient):
            # The SDK hard-codes https://api.twilio.com; an override keeps the path and query.
            def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
                if endpoint is not None:
                    u = urlsplit(url)
                    url = urlunsplit((endpoint.scheme, endpoint.netloc, u.path, u.query, ""))
                return super().request(method, url, *args, **kwargs)

        http = _HttpClient(timeout=self._timeout_s, logger=_log, max_retries=0)
        return Client(self._sid, self._token, http_client=http)

    def send(self, to: str, text: str) -> None:
        to = validate_number(to)
        body = prepare_message(text)
        args: dict[str, Any] = {"to": to, "body": body}
        if self._from.startswith("MG"):
            args["messaging_service_sid"] = self._from
        else:
            args["from_"] = self._from
        from twilio.base.exceptions import TwilioRestException

        try:
            self._client().messages.create(**args)
        except TwilioRestException as exc:
            reason = f"{exc.msg} (HTTP {exc.status}, code {exc.code})"
            raise ChannelSendError(self._failed(reason)) from None
        except Exception as exc:  # noqa: BLE001 (SDK and requests errors)
            raise ChannelSendError(self._failed(self._network_reason(exc))) from None

    def _network_reason(self, exc: Exception) -> str:
        import requests

        host = urlsplit(self._endpoint).netloc if self._endpoint else "api.twilio.com"
        if isinstance(exc, requests.Timeout):
            return "Timeout!"
        if isinstance(exc, requests.ConnectionError):
            return f"Cannot connect to {host}"
        return describe(exc)

    def _failed(self, reason: str) -> str:
        return "Failed to send SMS message - " + scrub(reason, [self._token])
