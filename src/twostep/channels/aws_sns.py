"""SMS through AWS SNS `Publish` to a phone number (ThingsBoard's AwsSmsSender)."""

from __future__ import annotations

import logging
from typing import Any

from twostep.channels.errors import ChannelSendError, describe, scrub
from twostep.channels.sms_rules import endpoint_url, prepare_message, require, validate_number

INVALID_CONFIG = (
    "Invalid AWS sms provider configuration: aws accessKeyId, aws secretAccessKey and aws region "
    "should be specified!"
)


def _quiet_botocore() -> None:
    # botocore's DEBUG logs print request bodies, i.e. the message with its one-time code. Unless
    # the operator configured these loggers explicitly, keep them at WARNING.
    for name in ("botocore", "boto3", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


class SnsSender:
    def __init__(self, config: dict[str, Any], *, timeout_s: float) -> None:
        key_id, secret, region = (
            config.get("accessKeyId"),
            config.get("secretAccessKey"),
            config.get("region"),
        )
        require({"id": key_id, "secret": secret, "region": region}, INVALID_CONFIG)
        self._key_id = str(key_id).strip()
        self._secret = str(secret)
        self._region = str(region).strip()
        self._endpoint = endpoint_url(config.get("endpointUrl"))
        self._timeout_s = timeout_s

    def _client(self) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig

        _quiet_botocore()
        # A session per send: boto3's default session is not thread-safe. One attempt only: a
        # retried Publish can deliver the same SMS twice, and retries stretch the timeout.
        session = boto3.session.Session(
            aws_access_key_id=self._key_id,
            aws_secret_access_key=self._secret,
            region_name=self._region,
        )
        return session.client(
            "sns",
            endpoint_url=self._endpoint,
            config=BotoConfig(
                connect_timeout=self._timeout_s,
                read_timeout=self._timeout_s,
                retries={"total_max_attempts": 1},
            ),
        )

    def send(self, to: str, text: str) -> None:
        to = validate_number(to)
        body = prepare_message(text)
        try:
            self._client().publish(
                PhoneNumber=to,
                Message=body,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
                },
            )
        except Exception as exc:  # noqa: BLE001 (ClientError, connection errors, timeouts)
            reason = scrub(str(exc) or describe(exc), [self._secret])
            raise ChannelSendError("Failed to send SMS message - " + reason) from None
