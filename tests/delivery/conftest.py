from tests.peers.fixtures import *  # noqa: F403  (the real SMTP/SNS/Twilio/SMPP peers)
