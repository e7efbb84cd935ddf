"""Decisions taken where they are acted on, not when a request began.

The defences: a password change confirms, in the transaction that stores the password and issues
the new pair, that the credentials are enabled and the caller's session still live (the hashes
before it take long enough for the owner to end that sign-in or an administrator to disable the
account); the answers for an expired or policy-violating right password (a reset token, or the
policy message) are given only once a transaction found the credentials enabled; every
transaction that changes a user takes the user's credentials row first, so deleting a user queues
behind a check in flight instead of deadlocking on PostgreSQL; an activation starts the password
failure count afresh (wrong passwords sent to an address that had none count for nothing after).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import httpx
from sqlalchemy import select

from tests.factories import bearer, create_tenant, create_user, oathtool
from tests.security.helpers import pv_of
from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD
from tests.twofa_helpers import enroll_totp, full_headers
from twostep.services.twofa import config_store
from twostep.storage import tables as t

EMAIL = "owner@example.com"
PASSWORD = "owner-Pa55word"
NEW_PASSWORD = "brand-new-Pa55word-42"
WRONG = "wrong-Pa55word"


class _HashHook:
    """The container's password hasher, running `before` once before the next hash it makes
    (in a password change: after both verifications, before the deciding transaction)."""

    def __init__(self, inner: Any, before: Callable[[], None]) -> None:
        self._inner = inner
        self._before: Callable[[], None] | None = before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def hash(self, password: str) -> str:
        before, self._before = self._before, None
        if before is not None:
            before()
        return self._inner.hash(password)  # type: ignore[no-any-return]


def _login(http: Any, email: str, password: str) -> Any:
    return http.post("/api/auth/login", json={"username": email, "password": password})


def _works(http: Any, answer: Any) -> bool:
    if answer.status_code != 200 or not answer.json().get("token"):
        return False
    me = http.get("/api/auth/user", headers=bearer(answer.json()["token"]))
    return me.status_code == 200


def _credentials(container: Any, user_id: Any) -> Any:
    with container.db.read() as conn:
        return conn.execute(
            select(t.user_credentials).where(t.user_credentials.c.user_id == user_id)
        ).one()


# -- a password change racing the end of its sign-in ---------------------------------------------


def test_a_password_change_in_flight_does_not_outlive_the_sign_in_its_owner_ended(
    container, live_server, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Someone holds a stolen session (and the password); the owner sees the sign-in in the list
    and ends it while the thief's password change is hashing. The change must not commit for an
    ended sign-in: no new pair for the thief, and the owner's password stays theirs."""
    create_user(container, EMAIL, PASSWORD)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        stolen = full_headers(http, EMAIL, PASSWORD)
        owner = full_headers(http, EMAIL, PASSWORD)
        listed = http.get("/api/auth/sessions", headers=owner).json()
        theirs = next(s["id"] for s in listed if not s["current"])
        ended: list[int] = []

        def owner_ends_the_stolen_sign_in() -> None:
            with httpx.Client(base_url=live_server.url, timeout=30) as other:
                ended.append(other.delete(f"/api/auth/sessions/{theirs}", headers=owner).status_code)

        monkeypatch.setattr(
            container, "passwords", _HashHook(container.passwords, owner_ends_the_stolen_sign_in)
        )
        r = http.post(
            "/api/auth/changePassword",
            headers=stolen,
            json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        )
        assert ended == [200]  # the owner's request succeeded before the change committed
        assert not _works(http, r), r.text  # no working pair for the ended sign-in
        assert _login(http, EMAIL, PASSWORD).status_code == 200, "the password was changed"


def test_a_password_change_in_flight_does_not_commit_for_a_disabled_account(
    container, live_server, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """An administrator disables the account (a stolen session is suspected) while the password
    change is hashing: the change must be refused, as every other token-issuing transaction
    refuses once the credentials are disabled. On the current code the password is changed and
    a new pair is issued that works again as soon as the account is re-enabled."""
    user_id = create_user(container, EMAIL, PASSWORD)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        admin = full_headers(http, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
        stolen = full_headers(http, EMAIL, PASSWORD)
        disabled: list[int] = []

        def admin_disables() -> None:
            with httpx.Client(base_url=live_server.url, timeout=30) as other:
                disabled.append(
                    other.post(
                        f"/api/user/{user_id}/userCredentialsEnabled?userCredentialsEnabled=false",
                        headers=admin,
                    ).status_code
                )

        monkeypatch.setattr(container, "passwords", _HashHook(container.passwords, admin_disables))
        r = http.post(
            "/api/auth/changePassword",
            headers=stolen,
            json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        )
        assert disabled == [200]
        assert not _credentials(container, user_id).enabled
        assert r.status_code == 401, r.text
        # The administrator re-enables the account (the owner will sign in again): nothing the
        # raced change left behind may work.
        enable = f"/api/user/{user_id}/userCredentialsEnabled?userCredentialsEnabled=true"
        assert http.post(enable, headers=admin).status_code == 200
        assert not _works(http, r), r.text
        assert _login(http, EMAIL, PASSWORD).status_code == 200, "the password was changed"


# -- an expired password racing a lockout ---------------------------------------------------------


class _VerifyHook:
    """The container's password hasher, running `before` once when it is asked to verify
    `password` (the right one), before it does: a lockout that commits while it hashes."""

    def __init__(self, inner: Any, password: str, before: Callable[[], None]) -> None:
        self._inner = inner
        self._password = password
        self._before: Callable[[], None] | None = before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def verify(self, stored: Any, password: str) -> bool:
        if password == self._password and self._before is not None:
            before, self._before = self._before, None
            before()
        return self._inner.verify(stored, password)  # type: ignore[no-any-return]


def test_an_expired_password_racing_a_lockout_gets_no_reset_token(
    container, live_server, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Limit 3, three wrong passwords made, the password has expired. The right password is sent,
    and a fourth wrong one locks the account while the right one is being hashed. The right one
    must be answered as a wrong one now is (locked), with no reset token; on the current code it
    gets "User password expired!" and a reset token that changes the locked account's password."""
    user_id = create_user(container, EMAIL, PASSWORD)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        admin = full_headers(http, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
        settings = http.get("/api/admin/securitySettings", headers=admin).json()
        settings["maxFailedLoginAttempts"] = 3
        settings["passwordPolicy"]["passwordExpirationPeriodDays"] = 1
        assert http.post("/api/admin/securitySettings", headers=admin, json=settings).status_code == 200
        with container.db.transaction() as conn:
            conn.execute(
                t.user_credentials.update()
                .where(t.user_credentials.c.user_id == user_id)
                .values(password_set_time=0)
            )
        for i in range(3):
            assert _login(http, EMAIL, f"{WRONG}-{i}").status_code == 401
        locker: list[Any] = []

        def a_wrong_password_locks_the_account() -> None:
            with httpx.Client(base_url=live_server.url, timeout=30) as other:
                locker.append(_login(other, EMAIL, f"{WRONG}-last"))

        monkeypatch.setattr(
            container,
            "passwords",
            _VerifyHook(container.passwords, PASSWORD, a_wrong_password_locks_the_account),
        )
        r = _login(http, EMAIL, PASSWORD)
        assert locker and locker[0].json()["message"] == "User account is locked due to security policy"
        assert not _credentials(container, user_id).enabled  # the lock committed first
        assert "resetToken" not in r.json(), r.text
        assert r.json()["message"] == locker[0].json()["message"], r.text


# -- deleting a user racing a check (PostgreSQL) ---------------------------------------------------


def test_deleting_a_user_while_their_second_step_is_checked_is_no_deadlock(
    container, client, live_server, monkeypatch, platform
) -> None:  # type: ignore[no-untyped-def]
    """The check holds the user's credentials row (its failure count) when the administrator's
    delete has already ended the user's sessions and login attempts and now wants the credentials
    (ON DELETE CASCADE); the check then finishes its attempt. On PostgreSQL the two wait for each
    other until the deadlock detector aborts one: a 503 for whichever lost. Neither may be a 5xx."""
    tenant_id = create_tenant(container, "Deleting")
    create_user(container, "second-admin@example.com", PASSWORD, tenant_id=tenant_id)
    user_id = create_user(container, EMAIL, PASSWORD, tenant_id=tenant_id)
    headers = full_headers(client, EMAIL, PASSWORD)
    secret = enroll_totp(client, headers)

    class _Account:
        email, password = EMAIL, PASSWORD

    pv = pv_of(client, _Account)  # type: ignore[arg-type]
    admin = full_headers(client, SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    deleted: list[Any] = []
    original = config_store.consume

    def admin_deletes() -> None:
        with httpx.Client(base_url=live_server.url, timeout=60) as other:
            deleted.append(other.delete(f"/api/user/{user_id}", headers=admin))

    def consume_after_the_delete_started(conn, spec, now):  # type: ignore[no-untyped-def]
        runner = threading.Thread(target=admin_deletes)
        runner.start()
        time.sleep(1.5)  # the delete has taken the sessions and attempts, and waits on credentials
        try:
            return original(conn, spec, now)
        finally:
            threading.Thread(target=runner.join, daemon=True).start()

    monkeypatch.setattr(config_store, "consume", consume_after_the_delete_started)
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        r = http.post(
            "/api/auth/2fa/verification/check",
            headers=pv,
            params={"providerType": "TOTP", "verificationCode": oathtool(secret)},
        )
    deadline = time.time() + 30
    while not deleted and time.time() < deadline:
        time.sleep(0.05)
    assert deleted, "the delete did not finish"
    assert r.status_code < 500, r.text
    assert deleted[0].status_code < 500, deleted[0].text


# -- a failure count from before the activation ----------------------------------------------------


def test_wrong_passwords_sent_before_activation_do_not_count_after_it(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    """An invited user has no password yet; anyone who knows the address sends it wrong passwords
    (counted, but nothing to lock). After the owner activates the account, the first typo locks
    it: the count from before the activation is honoured after it."""
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings["maxFailedLoginAttempts"] = 3
    r = client.post("/api/admin/securitySettings", headers=sysadmin_headers, json=settings)
    assert r.status_code == 200
    tenant = client.post("/api/tenant", headers=sysadmin_headers, json={"title": "Invited"}).json()
    saved = client.post(
        "/api/user?sendActivationMail=false",
        headers=sysadmin_headers,
        json={
            "email": "invited@example.com",
            "authority": "TENANT_ADMIN",
            "tenantId": {"id": tenant["id"]["id"], "entityType": "TENANT"},
        },
    )
    assert saved.status_code == 200, saved.text
    user_id = saved.json()["id"]["id"]
    link = client.get(f"/api/user/{user_id}/activationLink", headers=sysadmin_headers).text
    token = link.split("activateToken=", 1)[1]
    for _ in range(4):  # before activation: known address, no password
        assert _login(client, "invited@example.com", WRONG).status_code == 401
    r = client.post(
        "/api/noauth/activate", json={"activateToken": token, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert _works(client, r)
    # The owner's first typo after activating:
    r = _login(client, "invited@example.com", WRONG)
    assert r.json()["message"] == "Invalid username or password", r.text
    assert _login(client, "invited@example.com", PASSWORD).status_code == 200
