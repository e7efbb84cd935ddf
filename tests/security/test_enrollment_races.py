"""Parallel enrollment calls of one user (issue 15 §5): `generate` and `submit` replace the user's
pending enrollment state. 50 at once must all be answered (no 5xx from two inserts racing on the
primary key of twofa_pending, as PostgreSQL answered 12-21 of them), leave exactly one pending
row, and that row must be the one of an answer a caller got."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.factories import create_user, oathtool, secret_of
from tests.support import outbox
from tests.twofa_helpers import full_headers, save_platform
from twostep.domain.twofa.providers import ProviderType
from twostep.providers import delivered_code, totp
from twostep.storage import tables as t

EMAIL = "enroller@example.com"
PASSWORD = "enroller-Pa55word"
PARALLEL = 50


def _fire(url: str, headers: dict[str, str], path: str, body: Any = None) -> list[httpx.Response]:
    barrier = threading.Barrier(PARALLEL)

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            return http.post(path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(one, range(PARALLEL)))


def _pending(container: Any, user_id: Any, provider: str) -> list[Any]:
    p = t.twofa_pending
    with container.db.read() as conn:
        return conn.execute(
            select(p).where(p.c.user_id == user_id, p.c.provider_type == provider)
        ).all()


@pytest.fixture
def enroller(container, client, sysadmin_headers):  # type: ignore[no-untyped-def]
    # A generous send cap: the submits below are about the pending row, not about the caps.
    save_platform(client, sysadmin_headers, minVerificationCodeSendPeriod=5)
    user_id = create_user(container, EMAIL, PASSWORD)
    return user_id, full_headers(client, EMAIL, PASSWORD)


@pytest.mark.parametrize("provider", ["TOTP", "BACKUP_CODE"])
def test_parallel_generate_calls_all_succeed_and_the_last_one_counts(container, client, live_server, enroller, provider) -> None:  # type: ignore[no-untyped-def]
    user_id, headers = enroller
    answers = _fire(live_server.url, headers, f"/api/2fa/account/config/generate?providerType={provider}")
    assert [r.status_code for r in answers] == [200] * PARALLEL, [r.text for r in answers if r.status_code != 200][:3]
    assert len(_pending(container, user_id, provider)) == 1
    if provider == "TOTP":
        # The pending secret is one of those handed out, and it completes enrollment.
        row = _pending(container, user_id, provider)[0]
        secret = container.box.open(row.totp_secret_enc, context=totp.pending_context(user_id))
        handed_out = {secret_of(r.json()["authUrl"]): r.json()["authUrl"] for r in answers}
        assert secret in handed_out
        body = {"providerType": "TOTP", "useByDefault": True, "authUrl": handed_out[secret]}
        r = client.post(f"/api/2fa/account/config?verificationCode={oathtool(secret)}", headers=headers, json=body)
        assert r.status_code == 200, r.text


def test_parallel_submit_calls_leave_one_pending_code(container, client, live_server, enroller) -> None:  # type: ignore[no-untyped-def]
    user_id, headers = enroller
    body = {"providerType": "EMAIL", "useByDefault": False, "email": EMAIL}
    answers = _fire(live_server.url, headers, "/api/2fa/account/config/submit", body)
    statuses = [r.status_code for r in answers]
    # Sends past the caps are refused (429); every other submit stores its code.
    assert set(statuses) <= {200, 429}, [r.text for r in answers if r.status_code not in (200, 429)][:3]
    assert 200 in statuses
    assert len(_pending(container, user_id, "EMAIL")) == 1
    # The pending code is one of those sent (sends and stores of parallel submits interleave, so
    # not necessarily the last one sent), and it confirms the address.
    row = _pending(container, user_id, "EMAIL")[0]
    scope = delivered_code.setup_scope(user_id, ProviderType.EMAIL, EMAIL)
    sent = [m["body"].split("Your verification code: ")[1][:6] for m in outbox(container.config)]
    matching = [code for code in sent if container.codes.same(container.codes.hash(code, scope=scope), row.code_hash)]
    assert matching, "the pending code is none of the codes sent"
    r = client.post(f"/api/2fa/account/config?verificationCode={matching[0]}", headers=headers, json=body)
    assert r.status_code == 200, r.text
