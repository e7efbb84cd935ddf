"""A password-reset request over a real server: its worker mails the link through a real SMTP
server after the answer, and the link works (the redirect of tb-rest-client and the page, then
the new password)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.delivery.helpers import mail_settings, save_settings
from tests.factories import create_user
from tests.support import LiveServer

EMAIL = "forgetful@example.com"


def _wait_for_mail(smtp: Any, count: int, timeout: float = 10) -> list[Any]:
    deadline = time.time() + timeout
    while len(smtp.messages) < count:
        assert time.time() < deadline, "the reset mail did not arrive"
        time.sleep(0.02)
    return list(smtp.messages)


def test_the_reset_mail_arrives_after_the_answer_and_its_link_works(
    real_delivery, app, smtp_plain
) -> None:  # type: ignore[no-untyped-def]
    real_delivery.config.mail_queue_interval_s = 0.05
    save_settings(real_delivery, "mail", mail_settings(smtp_plain.port))
    create_user(real_delivery, EMAIL, "old-Pa55word-x")
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/api/noauth/resetPasswordByEmail", json={"email": EMAIL})
        assert (r.status_code, r.content) == (200, b"")
        r = http.post("/api/noauth/resetPasswordByEmail", json={"email": "nobody@example.com"})
        assert (r.status_code, r.content) == (200, b"")
        [mail] = _wait_for_mail(smtp_plain, 1)
        assert mail.rcpt_tos == [EMAIL]
        # No base URL is configured: the link names the socket that accepted the request.
        link = re.search(
            r"(http://\S+/api/noauth/resetPassword\?resetToken=([\w-]{40}))", mail.part("plain")
        )
        assert link is not None and link.group(1).startswith(server.url)
        token = link.group(2)
        r = http.get(link.group(1)[len(server.url) :], follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == f"/login/resetPassword?resetToken={token}"
        assert http.get(r.headers["location"]).status_code == 200
        r = http.post(
            "/api/noauth/resetPassword", json={"resetToken": token, "password": "new-Pa55word-x"}
        )
        assert r.status_code == 200, r.text
        r = http.post("/api/auth/login", json={"username": EMAIL, "password": "new-Pa55word-x"})
        assert r.status_code == 200, r.text
        time.sleep(0.3)  # the unknown address's row was handled too: still one mail
    assert len(smtp_plain.messages) == 2  # the reset mail and the "password was reset" notice
    assert [m.rcpt_tos for m in smtp_plain.messages] == [[EMAIL], [EMAIL]]
