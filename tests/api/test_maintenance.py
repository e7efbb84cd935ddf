"""An unverified login that expires tells the owner once; old rows are purged."""

from __future__ import annotations

from sqlalchemy import func, select, update

from tests.factories import create_user
from tests.support import outbox
from tests.twofa_helpers import enroll_totp, full_headers, pre_token, save_platform
from twostep.domain.ids import now_ms
from twostep.services.operations.maintenance import run_once
from twostep.storage import tables as t

EMAIL = "sleepy@example.com"
PASSWORD = "sleepy-Pa55word"


def test_expired_second_step_notifies_once(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    save_platform(client, sysadmin_headers)
    create_user(container, EMAIL, PASSWORD)
    enroll_totp(client, full_headers(client, EMAIL, PASSWORD))
    pre_token(client, EMAIL, PASSWORD, )
    before = len([m for m in outbox(container.config) if m["to"] == EMAIL])
    assert run_once(container)["notified"] == 0  # not expired yet
    with container.db.transaction() as conn:
        conn.execute(update(t.login_attempt).values(expires_at=now_ms() - 1000))
    assert run_once(container)["notified"] == 1
    assert run_once(container)["notified"] == 0
    notes = [m for m in outbox(container.config) if m["to"] == EMAIL][before:]
    assert len(notes) == 1 and "expired" in notes[0]["body"]


def test_purge_removes_old_rows(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    full_headers(client, EMAIL, PASSWORD)
    with container.db.transaction() as conn:
        conn.execute(update(t.auth_session).values(expires_at=now_ms() - 2 * 24 * 3600 * 1000))
    run_once(container)
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.auth_session)).scalar_one() == 0


def test_purge_keeps_the_first_session_of_a_sign_in_that_is_still_refreshed(container, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first session dates the sign-in: were it purged while the sign-in lives on, the
    sign-in would lose its age and its origin (and with a maximum age, end early)."""
    monkeypatch.setattr(container.tokens, "sign_in_max_age", 30 * 24 * 3600)
    create_user(container, EMAIL, PASSWORD)
    pair = client.post("/api/auth/login", json={"username": EMAIL, "password": PASSWORD}).json()
    first = container.tokens.decode(pair["token"]).session_id
    pair = client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]}).json()
    with container.db.transaction() as conn:  # the first session expired ten days ago
        conn.execute(
            update(t.auth_session)
            .where(t.auth_session.c.id == first)
            .values(expires_at=now_ms() - 10 * 24 * 3600 * 1000)
        )
    run_once(container)
    with container.db.read() as conn:
        assert conn.execute(select(t.auth_session.c.id).where(t.auth_session.c.id == first)).first()
    r = client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]})
    assert r.status_code == 200, r.text  # still dated, so still within its 30 days
    sign_ins = client.get("/api/auth/sessions", headers={"X-Authorization": "Bearer " + r.json()["token"]}).json()
    assert len(sign_ins) == 1 and sign_ins[0]["ip"] == "testclient"
