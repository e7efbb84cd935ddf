"""SMS delivery against real peers: the Twilio SDK against a local Messages API, boto3 against
moto's SNS server, smpplib against a mini SMSC; and their failures (refusal, bad credentials, a
silent peer, a closed port) as a quick DeliveryFailed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.delivery.helpers import save_settings
from tests.peers import smsc as smsc_peer
from tests.peers import sns as sns_peer
from tests.peers import twilio as twilio_peer
from tests.peers.net import closed_port
from tests.support import outbox
from twostep.domain.errors import DeliveryFailed

TO = "+15550001111"


def twilio_config(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "TWILIO",
        "accountSid": twilio_peer.ACCOUNT_SID,
        "accountToken": twilio_peer.AUTH_TOKEN,
        "numberFrom": twilio_peer.NUMBER_FROM,
        "endpointUrl": url,
        **overrides,
    }


def sns_config(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "AWS_SNS",
        "accessKeyId": sns_peer.ACCESS_KEY_ID,
        "secretAccessKey": sns_peer.SECRET_ACCESS_KEY,
        "region": "us-east-1",
        "endpointUrl": url,
        **overrides,
    }


def smpp_config(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "SMPP",
        "protocolVersion": "3.4",
        "host": "127.0.0.1",
        "port": port,
        "systemId": smsc_peer.SYSTEM_ID,
        "password": smsc_peer.PASSWORD,
        "bindType": "TX",
        "destinationTon": 1,
        "destinationNpi": 1,
        "codingScheme": 0,
        **overrides,
    }


def send_fails(
    container: Any, to: str = TO, text: str = "Your code: 846203", within: float = 3.5
) -> str:
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as err:
        container.delivery.send_sms(to, text)
    assert time.monotonic() - started < within
    message = err.value.message
    assert message.startswith("Unable to send SMS: ")
    assert "846203" not in message
    return message


# -- Twilio ------------------------------------------------------------------------------------


def test_twilio_sends_with_basic_auth(real_delivery: Any, twilio: Any) -> None:
    save_settings(real_delivery, "sms", twilio_config(twilio.url))
    assert real_delivery.delivery.sms_configured()
    real_delivery.delivery.send_sms(" " + TO + " ", "Your verification code: 846203")
    [sent] = twilio.messages
    assert sent["To"] == TO and sent["From"] == twilio_peer.NUMBER_FROM
    assert sent["Body"] == "Your verification code: 846203"
    assert sent["user_agent"].startswith("twilio-python/")


def test_twilio_message_preparation(real_delivery: Any, twilio: Any) -> None:
    save_settings(real_delivery, "sms", twilio_config(twilio.url))
    real_delivery.delivery.send_sms(TO, '"Line one\\nLine two"')
    real_delivery.delivery.send_sms(TO, "x" * 1700)
    first, second = twilio.messages
    assert first["Body"] == "Line one\nLine two"
    assert len(second["Body"]) == 1600


def test_twilio_messaging_service_sid(real_delivery: Any, twilio: Any) -> None:
    save_settings(real_delivery, "sms", twilio_config(twilio.url, numberFrom="MG" + "a" * 32))
    real_delivery.delivery.send_sms(TO, "hello")
    [sent] = twilio.messages
    assert sent["MessagingServiceSid"] == "MG" + "a" * 32 and "From" not in sent


def test_twilio_invalid_number_is_refused_before_sending(real_delivery: Any, twilio: Any) -> None:
    save_settings(real_delivery, "sms", twilio_config(twilio.url))
    message = send_fails(real_delivery, to="15550001111")
    assert message == (
        "Unable to send SMS: Invalid phone number format. Phone number must be in E.164 format."
    )
    assert twilio.messages == []


def test_twilio_400_is_reported(real_delivery: Any, twilio: Any) -> None:
    save_settings(real_delivery, "sms", twilio_config(twilio.url))
    message = send_fails(real_delivery, to=twilio_peer.INVALID_TO)
    assert message.startswith("Unable to send SMS: Failed to send SMS message - ")
    assert "21211" in message and "HTTP 400" in message
    assert twilio_peer.AUTH_TOKEN not in message


def test_twilio_wrong_token(real_delivery: Any, twilio: Any) -> None:
    save_settings(real_delivery, "sms", twilio_config(twilio.url, accountToken="wrong-Token-123"))
    message = send_fails(real_delivery)
    assert "HTTP 401" in message and "wrong-Token-123" not in message


def test_twilio_silent_endpoint_times_out(real_delivery: Any, silent_port: int) -> None:
    save_settings(real_delivery, "sms", twilio_config(f"http://127.0.0.1:{silent_port}"))
    message = send_fails(real_delivery)
    assert message == "Unable to send SMS: Failed to send SMS message - Timeout!"


def test_twilio_endpoint_down(real_delivery: Any) -> None:
    save_settings(real_delivery, "sms", twilio_config(f"http://127.0.0.1:{closed_port()}"))
    send_fails(real_delivery, within=2)


# -- AWS SNS (moto) ----------------------------------------------------------------------------


def test_sns_publishes_transactional_sms(real_delivery: Any, sns: Any) -> None:
    save_settings(real_delivery, "sms", sns_config(sns.url))
    real_delivery.delivery.send_sms(TO, '"Your code: 846203\\nThanks"')
    [sent] = sns.sms()
    assert sent["phone_number"] == TO
    assert sent["message"] == "Your code: 846203\nThanks"


def test_sns_refuses_non_e164_before_sending(real_delivery: Any, sns: Any) -> None:
    save_settings(real_delivery, "sms", sns_config(sns.url))
    message = send_fails(real_delivery, to="+0123")
    assert "E.164" in message
    assert sns.sms() == []


def test_sns_incomplete_config_is_not_configured(real_delivery: Any) -> None:
    from twostep.services.records import stored_settings

    with real_delivery.db.transaction() as conn:  # as an older install might have stored it
        stored_settings.put(conn, "sms", {"type": "AWS_SNS", "accessKeyId": "AKID", "region": ""})
    assert not real_delivery.delivery.sms_configured()
    message = send_fails(real_delivery)
    assert "aws accessKeyId, aws secretAccessKey and aws region should be specified!" in message


def test_sns_silent_endpoint_times_out(real_delivery: Any, silent_port: int) -> None:
    save_settings(real_delivery, "sms", sns_config(f"http://127.0.0.1:{silent_port}"))
    message = send_fails(real_delivery, within=5)
    assert message.startswith("Unable to send SMS: Failed to send SMS message - ")
    assert sns_peer.SECRET_ACCESS_KEY not in message


def test_sns_endpoint_down(real_delivery: Any) -> None:
    save_settings(real_delivery, "sms", sns_config(f"http://127.0.0.1:{closed_port()}"))
    send_fails(real_delivery, within=2)


# -- SMPP (mini SMSC) --------------------------------------------------------------------------


def test_smpp_transmitter_gsm7_international(real_delivery: Any, smsc: Any) -> None:
    save_settings(real_delivery, "sms", smpp_config(smsc.port))
    real_delivery.delivery.send_sms(TO, "Your verification code: 846203")
    [bind] = smsc.binds
    assert bind["command"] == "bind_transmitter" and bind["interface_version"] == 0x34
    [sent] = smsc.submitted
    assert sent.destination == "15550001111"  # TON 1: the '+' is dropped
    assert (sent.dest_ton, sent.dest_npi) == (1, 1)
    assert sent.data_coding == 0 and sent.esm_class == 0
    assert sent.text() == "Your verification code: 846203"


def test_smpp_transceiver_ucs2_and_version_33(real_delivery: Any, smsc: Any) -> None:
    save_settings(
        real_delivery,
        "sms",
        smpp_config(
            smsc.port,
            bindType="TRX",
            protocolVersion=3.3,
            destinationTon=None,
            destinationNpi=None,
            sourceAddress="TwoStep",
        ),
    )
    real_delivery.delivery.send_sms(TO, "Код подтверждения: 846203")
    [bind] = smsc.binds
    assert bind["command"] == "bind_transceiver" and bind["interface_version"] == 0x33
    [sent] = smsc.submitted
    assert sent.destination == TO  # default TON 5: sent as is
    assert (sent.dest_ton, sent.dest_npi) == (5, 0)
    assert sent.source == "TwoStep" and sent.source_ton == 5
    assert sent.data_coding == 8
    assert sent.text() == "Код подтверждения: 846203"


def test_smpp_long_text_is_concatenated(real_delivery: Any, smsc: Any) -> None:
    save_settings(real_delivery, "sms", smpp_config(smsc.port))
    text = "0846203789" * 20
    real_delivery.delivery.send_sms(TO, text)
    assert len(smsc.submitted) == 2
    assert all(s.esm_class & 0x40 for s in smsc.submitted)  # UDHI
    assert "".join(s.text() for s in smsc.submitted) == text


def test_smpp_bind_failure(real_delivery: Any, smsc: Any) -> None:
    save_settings(real_delivery, "sms", smpp_config(smsc.port, password="wrong1"))
    message = send_fails(real_delivery)
    assert message.startswith("Unable to send SMS: Failed to establish SMPP session: PDUError: ")
    assert message.endswith("PDUError: Error status when binding: 13") and "wrong1" not in message
    assert smsc.submitted == []


def test_smpp_submit_refused(real_delivery: Any, smsc: Any) -> None:
    smsc.submit_status = 0x45  # ESME_RSUBMITFAIL
    save_settings(real_delivery, "sms", smpp_config(smsc.port))
    message = send_fails(real_delivery)
    assert "SMSC refused the message (status 69)" in message


def test_smpp_unsupported_version_is_rejected_on_save(real_delivery: Any, smsc: Any) -> None:
    from twostep.domain.errors import BadRequest

    with pytest.raises(BadRequest, match="Unsupported SMPP version: 5.0"):
        save_settings(real_delivery, "sms", smpp_config(smsc.port, protocolVersion="5.0"))


def test_smpp_silent_smsc_times_out(real_delivery: Any, silent_port: int) -> None:
    save_settings(real_delivery, "sms", smpp_config(silent_port))
    message = send_fails(real_delivery)
    assert message == "Unable to send SMS: Failed to establish SMPP session: Timeout!"


def test_smpp_smsc_down(real_delivery: Any) -> None:
    save_settings(real_delivery, "sms", smpp_config(closed_port()))
    message = send_fails(real_delivery, within=2)
    assert message.startswith("Unable to send SMS: Failed to establish SMPP session: ")


# -- common ------------------------------------------------------------------------------------


def test_no_provider(real_delivery: Any) -> None:
    assert not real_delivery.delivery.sms_configured()
    assert send_fails(real_delivery) == "Unable to send SMS: no SMS provider configured!"


def test_outbox_takes_precedence(container: Any, twilio: Any) -> None:
    save_settings(container, "sms", twilio_config(twilio.url))
    container.delivery.send_sms(TO, "Your code: 846203")
    assert twilio.messages == []
    assert outbox(container.config)[-1]["body"] == "Your code: 846203"


def test_no_code_or_secret_in_logs(
    real_delivery: Any, smsc: Any, twilio: Any, sns: Any, caplog: Any
) -> None:
    import logging

    code = "771902"
    with caplog.at_level(logging.DEBUG):
        save_settings(real_delivery, "sms", smpp_config(smsc.port))
        real_delivery.delivery.send_sms(TO, f"Your code: {code}")
        save_settings(real_delivery, "sms", sns_config(sns.url))
        real_delivery.delivery.send_sms(TO, f"Your code: {code}")
        save_settings(real_delivery, "sms", twilio_config(twilio.url))
        real_delivery.delivery.send_sms(TO, f"Your code: {code}")
        with pytest.raises(DeliveryFailed):
            real_delivery.delivery.send_sms(twilio_peer.INVALID_TO, f"Your code: {code}")
    assert len(smsc.submitted) == 1 and len(sns.sms()) == 1 and len(twilio.messages) == 1
    peers = ("moto", "werkzeug", "tests.")  # the in-process peers log what they receive
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(peers))
    for secret in (code, smsc_peer.PASSWORD, twilio_peer.AUTH_TOKEN, sns_peer.SECRET_ACCESS_KEY):
        assert secret not in ours
