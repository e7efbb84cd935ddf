"""A sign-in has an absolute lifetime (ASVS 7.3.2; NIST SP 800-63B-4 §2.2.3: at most 24 h at AAL2):
refreshing its tokens, or changing the password within it, never carries it past
TWOSTEP_SIGN_IN_MAX_AGE_S after the sign-in itself. ThingsBoard lets a refresh token renew itself
for ever."""

from __future__ import annotations

import time

import jwt
from sqlalchemy import func, update

from tests.factories import bearer, create_user
from twostep.storage import tables as t

EMAIL = "jane@example.com"
PASSWORD = "jane-Pa55word-ok"
DAY = 86_400


def _login(client):  # type: ignore[no-untyped-def]
    r = client.post("/api/auth/login", json={"username": EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()


def _exp(token: str) -> int:
    return jwt.decode(token, options={"verify_signature": False})["exp"]  # type: ignore[no-any-return]


def _refresh(client, pair):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]})


def _move_sign_in_back(container, pair, seconds: int) -> None:  # type: ignore[no-untyped-def]
    """As if the sign-in behind `pair` (every session of its family) began `seconds` earlier."""
    session_id = container.tokens.decode(pair["token"]).session_id
    s = t.auth_session
    family = func.coalesce(s.c.family_id, s.c.id)
    with container.db.transaction() as conn:
        mine = conn.execute(s.select().where(s.c.id == session_id)).first()
        conn.execute(
            update(s)
            .where(family == (mine.family_id or mine.id))
            .values(
                created_time=s.c.created_time - seconds * 1000,
                expires_at=s.c.expires_at - seconds * 1000,
            )
        )


def test_a_sign_in_ends_at_its_maximum_age_however_often_it_is_refreshed(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    pair = _login(client)
    assert _exp(pair["refreshToken"]) - _exp(pair["token"]) == DAY - 9000
    # 100 s before the end: a refresh still works, but its tokens end with the sign-in.
    _move_sign_in_back(container, pair, DAY - 100)
    r = _refresh(client, pair)
    assert r.status_code == 200, r.text
    fresh = r.json()
    ends = int(time.time()) + 100
    for token in (fresh["token"], fresh["refreshToken"]):
        assert ends - 2 <= _exp(token) <= ends + 1
    # Past the end: the tokens are dead and the refresh is refused as expired.
    _move_sign_in_back(container, fresh, 101)
    assert client.get("/api/auth/user", headers=bearer(fresh["token"])).status_code == 401
    r = _refresh(client, fresh)
    assert r.status_code == 401 and r.json()["errorCode"] == 11, r.text
    assert _login(client)["token"]  # signing in again starts a new one


def test_a_refresh_token_still_within_its_own_lifetime_cannot_outlive_the_sign_in(container, client) -> None:  # type: ignore[no-untyped-def]
    """The check is made at the refresh, against the sign-in, not only against the token's exp."""
    create_user(container, EMAIL, PASSWORD)
    pair = _login(client)
    s = t.auth_session
    session_id = container.tokens.decode(pair["token"]).session_id
    with container.db.transaction() as conn:  # the sign-in is a day old; its row not yet expired
        conn.execute(update(s).where(s.c.id == session_id).values(created_time=s.c.created_time - DAY * 1000))
    r = _refresh(client, pair)
    assert r.status_code == 401 and r.json()["errorCode"] == 11, r.text


def test_a_password_change_does_not_extend_the_sign_in(container, client) -> None:  # type: ignore[no-untyped-def]
    create_user(container, EMAIL, PASSWORD)
    pair = _login(client)
    _move_sign_in_back(container, pair, DAY - 100)
    r = client.post(
        "/api/auth/changePassword",
        headers=bearer(pair["token"]),
        json={"currentPassword": PASSWORD, "newPassword": "changed-Pa55word-ok"},
    )
    assert r.status_code == 200, r.text
    assert _exp(r.json()["refreshToken"]) <= int(time.time()) + 101


def test_no_maximum_age_keeps_thingsboards_lifetimes(container, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(container.tokens, "sign_in_max_age", 0)
    create_user(container, EMAIL, PASSWORD)
    pair = _login(client)
    claims = jwt.decode(pair["refreshToken"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 604800
    _move_sign_in_back(container, pair, 2 * DAY)
    assert _refresh(client, pair).status_code == 200
