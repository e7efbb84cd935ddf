"""A20: session fixation and stale sessions around 2FA (spec/security.md §4).

The defences: every token pair is bound to a server-side session row and every restricted token
to a login-attempt row; logout revokes the pair's session; a password change revokes every other
session and every pending second step; a password reset, an administrator's disable, a password
lockout and a 2FA lockout revoke all of them; every login and every completed second step gets new
identifiers (a new jti, a new sessionId), so nothing planted before login survives it.

Not applicable: there is no pre-login session identifier or cookie to fixate on the bearer API.
"""

from __future__ import annotations

import re
import uuid

import jwt
import pytest

from tests.factories import age_refreshes, bearer, oathtool
from tests.security.helpers import (
    MAX_FAILURES,
    age_sign_in,
    check,
    make_account,
    pv_of,
    wrong_totp,
)
from tests.support import deliver_queued_mail, outbox
from tests.twofa_helpers import enroll_backup


def _pair(client, account) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = check(client, pv_of(client, account), "TOTP", oathtool(account.secret))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _alive(client, pair: dict[str, str]) -> tuple[bool, bool]:  # type: ignore[no-untyped-def]
    """(access token accepted, refresh token accepted)."""
    access = client.get("/api/auth/user", headers=bearer(pair["token"])).status_code == 200
    refresh = (
        client.post("/api/auth/token", json={"refreshToken": pair["refreshToken"]}).status_code
        == 200
    )
    return access, refresh


def _claims(token: str) -> dict:  # type: ignore[type-arg]
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


@pytest.fixture
def devices(client, victim):  # type: ignore[no-untyped-def]
    """The victim signed in on a laptop and a phone (both through TOTP), with a third login
    waiting at the second step (the laptop by TOTP, the phone by a backup code)."""
    laptop = _pair(client, victim)
    codes = enroll_backup(client, victim.headers)  # the TOTP step is used up for this 30 s
    phone = check(client, pv_of(client, victim), "BACKUP_CODE", codes[0])
    assert phone.status_code == 200, phone.text
    return {"laptop": laptop, "phone": phone.json(), "pending": pv_of(client, victim)}


def test_logout_kills_the_pair(client, devices) -> None:  # type: ignore[no-untyped-def]
    assert (
        client.post("/api/auth/logout", headers=bearer(devices["laptop"]["token"])).status_code
        == 200
    )
    assert _alive(client, devices["laptop"]) == (False, False)
    assert _alive(client, devices["phone"]) == (True, True)  # only that device signed out


def test_a_password_change_kills_the_other_sessions_and_pending_second_steps(
    client, victim, devices
) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/auth/changePassword",
        headers=bearer(devices["laptop"]["token"]),
        json={"currentPassword": victim.password, "newPassword": "changed-Pa55word"},
    )
    assert r.status_code == 200, r.text
    assert _alive(client, devices["phone"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401
    assert client.get("/api/auth/user", headers=bearer(r.json()["token"])).status_code == 200


def test_signing_out_everywhere_else_keeps_only_the_callers_sign_in(
    client, victim, other, devices
) -> None:  # type: ignore[no-untyped-def]
    """ASVS 7.4.3: after a change of 2FA the user can end every other session; the pair they
    hold continues, also when it came from a refresh of their sign-in."""
    r = client.post("/api/auth/token", json={"refreshToken": devices["laptop"]["refreshToken"]})
    assert r.status_code == 200, r.text
    laptop = r.json()
    r = client.post("/api/auth/logoutOthers", headers=bearer(laptop["token"]))
    # The phone and the sign-in the victim enrolled TOTP with.
    assert r.status_code == 200 and r.json() == {"endedSessions": 2}, r.text
    assert _alive(client, devices["phone"]) == (False, False)
    assert client.get("/api/auth/user", headers=victim.headers).status_code == 401
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401
    assert client.get("/api/auth/user", headers=bearer(laptop["token"])).status_code == 200
    assert client.get("/api/auth/user", headers=other.headers).status_code == 200  # theirs only
    # Nothing left to end; a pre-verification token may not ask.
    assert client.post("/api/auth/logoutOthers", headers=bearer(laptop["token"])).json() == {
        "endedSessions": 0
    }
    assert client.post("/api/auth/logoutOthers", headers=pv_of(client, victim)).status_code == 403


def test_signing_out_everywhere_else_needs_a_recent_sign_in(client, container, devices) -> None:  # type: ignore[no-untyped-def]
    """ASVS 7.5.2: a token whose sign-in is old (a stolen one, say) cannot shut the owner out."""
    age_sign_in(container, devices["laptop"]["token"], container.config.reauth_window_s + 60)
    r = client.post("/api/auth/logoutOthers", headers=bearer(devices["laptop"]["token"]))
    assert r.status_code == 401 and r.json()["errorCode"] == 10, r.text
    assert r.json()["message"] == "Sign in again to change which sessions stay signed in"
    assert _alive(client, devices["phone"]) == (True, True)


def test_a_password_reset_kills_every_session_and_pending_second_step(
    container, client, victim, devices
) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/noauth/resetPasswordByEmail", json={"email": victim.email})
    deliver_queued_mail(container)
    token = re.search(r"resetToken=([\w-]+)", outbox(container.config)[-1]["body"]).group(1)  # type: ignore[union-attr]
    assert (
        client.post(
            "/api/noauth/resetPassword", json={"resetToken": token, "password": "reset-Pa55word"}
        ).status_code
        == 200
    )
    assert _alive(client, devices["laptop"]) == (False, False)
    assert _alive(client, devices["phone"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401


def test_an_administrator_disable_kills_everything_and_enable_revives_nothing(
    client, sysadmin_headers, victim, devices
) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/user/{victim.id}/userCredentialsEnabled?userCredentialsEnabled="
    assert client.post(url + "false", headers=sysadmin_headers).status_code == 200
    assert _alive(client, devices["laptop"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401
    assert client.post(url + "true", headers=sysadmin_headers).status_code == 200
    assert _alive(client, devices["phone"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401


def test_a_2fa_lockout_kills_every_session(client, victim, devices) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    for _ in range(MAX_FAILURES):
        check(client, pv, "TOTP", wrong_totp(victim.secret))
    assert _alive(client, devices["laptop"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401


def test_a_password_lockout_kills_every_session(client, sysadmin_headers, victim, devices) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings["maxFailedLoginAttempts"] = 2
    assert (
        client.post(
            "/api/admin/securitySettings", headers=sysadmin_headers, json=settings
        ).status_code
        == 200
    )
    for i in range(3):
        client.post("/api/auth/login", json={"username": victim.email, "password": f"wrong-{i}"})
    assert _alive(client, devices["phone"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401


def test_an_administrator_removing_the_last_factor_kills_every_session(
    client, sysadmin_headers, victim, devices
) -> None:  # type: ignore[no-untyped-def]
    assert (
        client.delete(
            f"/api/2fa/{victim.id}/config?providerType=TOTP", headers=sysadmin_headers
        ).status_code
        == 200
    )
    assert _alive(client, devices["laptop"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401


def test_every_step_gets_new_identifiers(client, victim) -> None:  # type: ignore[no-untyped-def]
    pvs = [pv_of(client, victim)["X-Authorization"][7:] for _ in range(3)]
    claims = [_claims(token) for token in pvs]
    assert len({c["jti"] for c in claims}) == 3 and len({c["sessionId"] for c in claims}) == 3
    pair = check(client, bearer(pvs[0]), "TOTP", oathtool(victim.secret)).json()
    access, refresh = _claims(pair["token"]), _claims(pair["refreshToken"])
    assert access["sessionId"] == refresh["sessionId"]
    assert access["sessionId"] not in {c["sessionId"] for c in claims} | {c["jti"] for c in claims}
    uuid.UUID(access["sessionId"])
    # The other two second steps are still pending, each on its own; one success does not
    # complete them.
    assert client.get("/api/auth/2fa/providers", headers=bearer(pvs[1])).status_code == 200


def test_a_second_login_of_another_user_does_not_share_anything(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    other = make_account(container, client, "second@example.com", "second-Pa55word")
    a, b = _pair(client, victim), _pair(client, other)
    assert client.get("/api/auth/user", headers=bearer(a["token"])).json()["email"] == victim.email
    assert client.get("/api/auth/user", headers=bearer(b["token"])).json()["email"] == other.email
    assert client.post("/api/auth/logout", headers=bearer(a["token"])).status_code == 200
    assert _alive(client, b) == (True, True)


def test_a_refresh_token_is_single_use(container, client, devices) -> None:  # type: ignore[no-untyped-def]
    """Single use once the grace period is over (tests/security/test_refresh_grace.py)."""
    first = devices["laptop"]
    r = client.post("/api/auth/token", json={"refreshToken": first["refreshToken"]})
    assert r.status_code == 200
    age_refreshes(container, container.config.refresh_grace_s + 1)
    assert (
        client.post("/api/auth/token", json={"refreshToken": first["refreshToken"]}).status_code
        == 401
    )


def test_logout_after_a_refresh_ends_the_whole_login(client, devices) -> None:  # type: ignore[no-untyped-def]
    first = devices["laptop"]
    second = client.post("/api/auth/token", json={"refreshToken": first["refreshToken"]}).json()
    assert client.post("/api/auth/logout", headers=bearer(second["token"])).status_code == 200
    assert _alive(client, second) == (False, False)
    assert _alive(client, first) == (False, False)


# -- where am I signed in (ASVS 7.5.2): view each sign-in, end any one of them -------------------

PHONE_AGENT = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"


def _sign_ins(client, pair):  # type: ignore[no-untyped-def]
    r = client.get("/api/auth/sessions", headers=bearer(pair["token"]))
    assert r.status_code == 200, r.text
    return r.json()


def test_the_owner_sees_each_sign_in_once_with_where_it_came_from(client, victim) -> None:  # type: ignore[no-untyped-def]
    laptop = _pair(client, victim)
    codes = enroll_backup(client, victim.headers)
    phone = check(
        client, pv_of(client, victim), "BACKUP_CODE", codes[0], **{"User-Agent": PHONE_AGENT}
    ).json()
    # A refresh continues the laptop's sign-in: still one entry, signed in when it was.
    before = {s["id"]: s for s in _sign_ins(client, laptop)}
    laptop = client.post("/api/auth/token", json={"refreshToken": laptop["refreshToken"]}).json()
    seen = _sign_ins(client, laptop)
    # The laptop, the phone and the sign-in the victim enrolled TOTP with; the caller's first.
    assert len(seen) == 3 and len({s["id"] for s in seen}) == 3
    assert seen[0]["current"] and not any(s["current"] for s in seen[1:])
    assert seen[0]["signedInTime"] == before[seen[0]["id"]]["signedInTime"]
    assert seen[0]["lastRefreshTime"] >= seen[0]["signedInTime"]
    on_phone = [s for s in seen if s["userAgent"] == PHONE_AGENT]
    assert len(on_phone) == 1 and on_phone[0]["ip"] == "testclient"
    assert _sign_ins(client, phone)[0]["id"] == on_phone[0]["id"]  # the phone sees itself first


def test_ending_one_sign_in_ends_it_alone_and_every_pair_refreshed_from_it(client, victim, other, devices) -> None:  # type: ignore[no-untyped-def]
    phone = devices["phone"]
    phone_id = _sign_ins(client, phone)[0]["id"]
    refreshed = client.post("/api/auth/token", json={"refreshToken": phone["refreshToken"]}).json()
    r = client.delete(f"/api/auth/sessions/{phone_id}", headers=bearer(devices["laptop"]["token"]))
    assert r.status_code == 200 and r.json() == {"endedSessions": 1}, r.text
    assert _alive(client, refreshed) == (False, False)
    assert phone_id not in {s["id"] for s in _sign_ins(client, devices["laptop"])}
    assert _alive(client, devices["laptop"]) == (True, True)
    # Gone already: nothing to end, in the same words as an id that was never there.
    again = client.delete(f"/api/auth/sessions/{phone_id}", headers=victim.headers)
    assert again.status_code == 404 and again.json()["errorCode"] == 32, again.text


def test_nobody_can_see_or_end_another_users_sign_in(client, victim, other) -> None:  # type: ignore[no-untyped-def]
    theirs = client.get("/api/auth/sessions", headers=other.headers).json()
    assert len(theirs) == 1
    assert theirs[0]["id"] not in {s["id"] for s in client.get("/api/auth/sessions", headers=victim.headers).json()}
    r = client.delete(f"/api/auth/sessions/{theirs[0]['id']}", headers=victim.headers)
    assert r.status_code == 404 and r.json()["message"] == "Requested item wasn't found!", r.text
    assert client.get("/api/auth/user", headers=other.headers).status_code == 200


def test_ending_a_sign_in_needs_a_recent_sign_in_and_a_full_token(client, container, devices, victim) -> None:  # type: ignore[no-untyped-def]
    phone_id = _sign_ins(client, devices["phone"])[0]["id"]
    age_sign_in(container, devices["laptop"]["token"], container.config.reauth_window_s + 60)
    laptop = bearer(devices["laptop"]["token"])
    r = client.delete(f"/api/auth/sessions/{phone_id}", headers=laptop)
    assert r.status_code == 401 and r.json()["errorCode"] == 10, r.text
    assert r.json()["message"] == "Sign in again to change which sessions stay signed in"
    assert _alive(client, devices["phone"]) == (True, True)
    pending = devices["pending"]
    assert client.get("/api/auth/sessions", headers=pending).status_code == 403
    assert client.delete(f"/api/auth/sessions/{phone_id}", headers=pending).status_code == 403
    assert client.get("/api/auth/sessions").status_code == 401


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "%20"])
def test_a_malformed_sign_in_id_is_a_clear_400(client, victim, bad) -> None:  # type: ignore[no-untyped-def]
    r = client.delete(f"/api/auth/sessions/{bad}", headers=victim.headers)
    assert r.status_code == 400 and r.json()["errorCode"] == 31, r.text


# -- an administrator signs a user out everywhere (ASVS 7.4.5) ---------------------------------


def test_an_administrator_signs_a_user_out_everywhere_without_disabling_them(client, sysadmin_headers, victim, devices) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/user/{victim.id}/logoutAll", headers=sysadmin_headers)
    assert r.status_code == 200 and r.json()["endedSessions"] == 3, r.text
    assert _alive(client, devices["laptop"]) == (False, False)
    assert _alive(client, devices["phone"]) == (False, False)
    assert client.get("/api/auth/2fa/providers", headers=devices["pending"]).status_code == 401
    assert client.get("/api/auth/user", headers=sysadmin_headers).status_code == 200
    # Not disabled: the user signs in again at once (and meets the second step).
    assert pv_of(client, victim)
    logs = client.get(
        "/api/audit/logs?pageSize=10&page=0&actionTypes=LOGOUT", headers=sysadmin_headers
    ).json()["data"]
    assert any(
        e["entityName"] == victim.email and e["actionData"].get("sessionsEnded") == 3 for e in logs
    ), logs


def test_only_someone_who_administers_the_user_may_sign_them_out(client, victim, other) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/user/{victim.id}/logoutAll", headers=other.headers)
    assert r.status_code == 403 and r.json()["errorCode"] == 20, r.text
    assert client.get("/api/auth/user", headers=victim.headers).status_code == 200
    r = client.post(f"/api/user/{uuid.uuid4()}/logoutAll", headers=victim.headers)
    assert r.status_code == 404, r.text
    assert client.post(f"/api/user/{victim.id}/logoutAll").status_code == 401
