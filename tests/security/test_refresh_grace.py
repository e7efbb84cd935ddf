"""Refresh-token rotation with a grace period (issue 17): two tabs that refresh with the same token
at once both get the same new pair; anything else that presents an exchanged token ends the
sign-in, as before.

The defences: the grace answer is only for the very token that was exchanged (the successor pair
is sealed with AES-GCM under the hash of that token), only within TWOSTEP_REFRESH_GRACE_S, only
while the successor pair's session is live (a logout, lockout, disabling, password change or a
later refresh of it ends the grace), and the sealed pair is dropped by every revocation.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
from sqlalchemy import select, update

from tests.factories import age_refreshes, bearer, oathtool
from tests.security.helpers import JWT_LIKE, MAX_FAILURES, check, dump_database, jwt_key, pv_of
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import full_headers
from twostep.storage import tables as t


def _pair(client: Any, victim: Any) -> dict[str, str]:
    r = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _refresh(client: Any, refresh_token: str) -> Any:
    return client.post("/api/auth/token", json={"refreshToken": refresh_token})


def _works(client: Any, pair: dict[str, str]) -> bool:
    return client.get("/api/auth/user", headers=bearer(pair["token"])).status_code == 200


def test_two_tabs_refreshing_at_once_get_the_same_pair(client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    tab_a = _refresh(client, first["refreshToken"])
    tab_b = _refresh(client, first["refreshToken"])
    assert tab_a.status_code == tab_b.status_code == 200
    assert tab_a.json() == tab_b.json()
    assert _works(client, tab_a.json())
    # The sign-in goes on: the successor refreshes normally, once.
    third = _refresh(client, tab_a.json()["refreshToken"])
    assert third.status_code == 200 and _works(client, third.json())
    assert not _works(client, first)  # the exchanged pair itself stays ended


def test_a_reuse_after_the_grace_period_ends_the_sign_in(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    age_refreshes(container, container.config.refresh_grace_s + 1)
    r = _refresh(client, first["refreshToken"])
    assert (r.status_code, r.json()["message"]) == (401, "Token is outdated")
    assert not _works(client, second)
    assert _refresh(client, second["refreshToken"]).status_code == 401


def test_no_grace_when_turned_off(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    container.tokens.refresh_grace = 0
    try:
        first = _pair(client, victim)
        second = _refresh(client, first["refreshToken"]).json()
        assert _refresh(client, first["refreshToken"]).status_code == 401
        assert not _works(client, second)
    finally:
        container.tokens.refresh_grace = container.config.refresh_grace_s


def test_only_the_exchanged_token_gets_the_pair_again(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    """Another refresh token of the same session (here forged with the signing key: the only way
    to have one) gets nothing and ends the sign-in."""
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    claims = jwt.decode(first["refreshToken"], options={"verify_signature": False})
    claims["jti"] = str(uuid.uuid4())
    other = jwt.encode(claims, jwt_key(container), algorithm="HS512")
    r = _refresh(client, other)
    assert r.status_code == 401 and "token" not in r.json()
    assert not _works(client, second)
    assert _refresh(client, first["refreshToken"]).status_code == 401  # nothing to revive


def test_a_later_refresh_of_the_successor_ends_the_grace(client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    third = _refresh(client, second["refreshToken"]).json()
    # The grandparent token within seconds: its successor is exchanged already, so this is no
    # racing tab of the current pair: the sign-in ends.
    r = _refresh(client, first["refreshToken"])
    assert r.status_code == 401
    assert not _works(client, third)


def test_logout_ends_the_grace(client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    assert client.post("/api/auth/logout", headers=bearer(second["token"])).status_code == 200
    assert _refresh(client, first["refreshToken"]).status_code == 401
    assert not _works(client, second)


def test_a_password_change_ends_the_grace(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    r = client.post(
        "/api/auth/changePassword",
        headers=bearer(second["token"]),
        json={"currentPassword": victim.password, "newPassword": "changed-Pa55word-1"},
    )
    assert r.status_code == 200, r.text
    with container.db.read() as conn:
        sealed = conn.execute(
            select(t.auth_session.c.id).where(t.auth_session.c.successor_enc.is_not(None))
        ).all()
    assert sealed == []  # the revocation dropped the sealed pair
    assert _refresh(client, first["refreshToken"]).status_code == 401


def test_a_lockout_ends_the_grace(client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    pv = pv_of(client, victim)
    for _ in range(MAX_FAILURES):
        check(client, pv, "TOTP", "000000")
    r = _refresh(client, first["refreshToken"])
    assert r.status_code == 401 and "token" not in r.json()
    assert not _works(client, second)


def test_disabling_ends_the_grace(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    _refresh(client, first["refreshToken"])
    admin = full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    r = client.post(f"/api/user/{victim.id}/userCredentialsEnabled?userCredentialsEnabled=false", headers=admin)
    assert r.status_code == 200, r.text
    assert _refresh(client, first["refreshToken"]).status_code == 401
    client.post(f"/api/user/{victim.id}/userCredentialsEnabled?userCredentialsEnabled=true", headers=admin)
    assert _refresh(client, first["refreshToken"]).status_code == 401  # re-enabling revives nothing


def test_the_successor_pair_is_sealed_at_rest_and_dropped_by_revocation(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    cells = dump_database(container)
    for secret in (second["token"], second["refreshToken"]):
        assert not any(secret in value for _, _, value in cells)
    assert not any(JWT_LIKE.search(value) for _, _, value in cells)
    with container.db.read() as conn:
        sealed = conn.execute(
            select(t.auth_session.c.successor_enc).where(t.auth_session.c.successor_enc.is_not(None))
        ).scalars().all()
    assert len(sealed) == 1 and sealed[0].startswith("v1:")
    assert client.post("/api/auth/logout", headers=bearer(second["token"])).status_code == 200
    with container.db.read() as conn:
        left = conn.execute(
            select(t.auth_session.c.id).where(t.auth_session.c.successor_enc.is_not(None))
        ).all()
    assert left == []


def test_the_successor_must_be_live_even_if_its_seal_was_kept(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    """Second layer apart: a revoked successor whose sealed copy is still stored is not answered."""
    first = _pair(client, victim)
    second = _refresh(client, first["refreshToken"]).json()
    with container.db.transaction() as conn:
        conn.execute(update(t.auth_session).where(t.auth_session.c.revoked.is_(False)).values(revoked=True))
    assert _refresh(client, first["refreshToken"]).status_code == 401
    assert not _works(client, second)


def test_parallel_refreshes_with_one_token_all_get_one_pair(live_server, client, victim) -> None:  # type: ignore[no-untyped-def]
    first = _pair(client, victim)

    def refresh(_: int) -> Any:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            return http.post("/api/auth/token", json={"refreshToken": first["refreshToken"]})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(refresh, range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.json()["refreshToken"] for a in answers}) == 1
    assert _works(client, answers[0].json())
