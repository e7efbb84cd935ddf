"""A7: the pre-verification token against normal APIs, and A19: JWT attacks (spec/security.md §4).

The defences: a restricted token (PRE_VERIFICATION_TOKEN, MFA_CONFIGURATION_TOKEN) is accepted
only where the authority matrix (thingsboard-2fa.md §3.9) lists it, and only while its
login-attempt row (its `jti`) is ACTIVE, unexpired and of the same scope; full access tokens only
while their session row is live; refresh tokens never as access tokens. JWTs are checked with
one allowed algorithm (HS512), the configured key and issuer, and required `exp`/`iat`/`sub`/`iss`.

Every route of the application is enumerated from the routers, so a new route that forgets its
authority check fails `test_every_route_*` here.

Not applicable: GraphQL/WebSocket endpoints and file upload do not exist; tokens are accepted only
in the X-Authorization / Authorization headers (no cookie or query-parameter token), which is
tested below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

import jwt
import pytest
from fastapi.routing import APIRoute

from tests.factories import bearer, create_user, oathtool
from tests.security.helpers import check, expire_login_attempts, jwt_key, pv_of
from tests.twofa_helpers import login, save_platform
from twostep.web.routes import ROUTERS

# -- the route matrix ----------------------------------------------------------------------------

PUBLIC_PREFIXES = ("/api/noauth/",)
PUBLIC_PATHS = {"/api/auth/login", "/api/auth/token"}
PV_ALLOWED = {
    ("GET", "/api/auth/2fa/providers"),
    ("POST", "/api/auth/2fa/verification/send"),
    ("POST", "/api/auth/2fa/verification/check"),
}
MFA_ALLOWED = {
    ("POST", "/api/auth/2fa/login"),
    ("GET", "/api/2fa/account/settings"),
    ("POST", "/api/2fa/account/config/generate"),
    ("POST", "/api/2fa/account/config/submit"),
    ("POST", "/api/2fa/account/config"),
    ("GET", "/api/2fa/providers"),
}
PATH_VALUES = {"key": "mail", "entityType": "USER"}


def _is_public(path: str) -> bool:
    """Public API routes; everything outside /api/ is an HTML page shell that holds no data."""
    return not path.startswith("/api/") or path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _routes(user_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """(method, route path, concrete URL) for every protected route of every router."""
    found = []
    for router in ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute) or _is_public(route.path):
                continue
            url = route.path
            for param in route.param_convertors:
                url = url.replace("{" + param + "}", PATH_VALUES.get(param, str(user_id)))
            for method in sorted(route.methods):
                query = "?providerType=TOTP&verificationCode=000000&userCredentialsEnabled=true&email=x@example.com"
                found.append((method, route.path, url + query))
    assert len(found) > 60
    return found


def _call(client, method: str, url: str, headers: dict[str, str]) -> Any:  # type: ignore[no-untyped-def]
    return client.request(method, url, headers=headers, json={})


def test_every_protected_route_refuses_a_missing_token(client, victim) -> None:  # type: ignore[no-untyped-def]
    wrong = [
        (m, p, r.status_code)
        for m, p, url in _routes(victim.id)
        if (r := _call(client, m, url, {})).status_code != 401
    ]
    assert not wrong, wrong


def test_every_route_refuses_the_pre_verification_token_except_the_second_step(
    client, victim
) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    refused, opened = [], []
    for method, path, url in _routes(victim.id):
        status = _call(client, method, url, pv).status_code
        if (method, path) in PV_ALLOWED:
            if status in (401, 403):
                refused.append((method, path, status))
        elif status not in (401, 403):
            opened.append((method, path, status))
    assert not opened, opened
    assert not refused, refused


def test_every_route_refuses_the_configuration_token_except_setup(
    container, client, sysadmin_headers
) -> None:  # type: ignore[no-untyped-def]
    save_platform(
        client, sysadmin_headers, enforceTwoFa=True, enforcedUsersFilter={"type": "ALL_USERS"}
    )
    user_id = create_user(container, "newbie@example.com", "newbie-Pa55word")
    body = login(client, "newbie@example.com", "newbie-Pa55word")
    assert body["scope"] == "MFA_CONFIGURATION_TOKEN"
    mfa = bearer(body["token"])
    refused, opened = [], []
    for method, path, url in _routes(user_id):
        status = _call(client, method, url, mfa).status_code
        if (method, path) in MFA_ALLOWED:
            if status in (401, 403):
                refused.append((method, path, status))
        elif status not in (401, 403):
            opened.append((method, path, status))
    assert not opened, opened
    assert not refused, refused


def test_every_route_refuses_a_refresh_token(client, victim) -> None:  # type: ignore[no-untyped-def]
    pair = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).json()
    refresh = bearer(pair["refreshToken"])
    opened = [
        (m, p, s)
        for m, p, url in _routes(victim.id)
        if (s := _call(client, m, url, refresh).status_code) not in (401, 403)
    ]
    assert not opened, opened


def test_restricted_tokens_cannot_be_refreshed(client, victim) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)["X-Authorization"][7:]
    r = client.post("/api/auth/token", json={"refreshToken": pv})
    assert r.status_code == 401
    pair = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).json()
    assert client.post("/api/auth/token", json={"refreshToken": pair["token"]}).status_code == 401


@pytest.mark.parametrize(
    "place",
    ["cookie", "query token", "query access_token", "basic scheme", "no scheme", "custom header"],
)
def test_tokens_only_count_in_the_authorization_headers(client, victim, place) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)["X-Authorization"][7:]
    pair = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).json()
    for path, token in (("/api/auth/2fa/providers", pv), ("/api/auth/user", pair["token"])):
        headers: dict[str, str] = {}
        params: dict[str, str] = {}
        if place == "cookie":
            headers["Cookie"] = f"token={token}; X-Authorization=Bearer%20{token}; jwt={token}"
        elif place.startswith("query"):
            params[place.split()[1]] = token
        elif place == "basic scheme":
            headers["X-Authorization"] = f"Basic {token}"
        elif place == "no scheme":
            headers["X-Authorization"] = token
        else:
            headers["X-Auth-Token"] = token
        r = client.get(path, headers=headers, params=params)
        assert r.status_code == 401, (path, r.text)


# -- the token's life ------------------------------------------------------------------------------


def test_the_pre_verification_token_dies_with_success(client, victim) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    assert check(client, pv, "TOTP", oathtool(victim.secret)).status_code == 200
    r = client.get("/api/auth/2fa/providers", headers=pv)
    assert (r.status_code, r.json()["message"]) == (401, "Token has expired")
    assert check(client, pv, "TOTP", oathtool(victim.secret, time.time() - 30)).status_code == 401


def test_the_pre_verification_token_dies_when_its_attempt_expires(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    expire_login_attempts(container, victim.id)
    assert client.get("/api/auth/2fa/providers", headers=pv).status_code == 401
    assert check(client, pv, "TOTP", oathtool(victim.secret)).status_code == 401


def test_the_configuration_token_is_single_use(container, client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    from tests.twofa_helpers import enroll_totp

    save_platform(
        client, sysadmin_headers, enforceTwoFa=True, enforcedUsersFilter={"type": "ALL_USERS"}
    )
    create_user(container, "newbie@example.com", "newbie-Pa55word")
    mfa = bearer(login(client, "newbie@example.com", "newbie-Pa55word")["token"])
    enroll_totp(client, mfa)
    assert client.post("/api/auth/2fa/login", headers=mfa).status_code == 200
    assert client.post("/api/auth/2fa/login", headers=mfa).status_code == 401
    assert client.get("/api/2fa/account/settings", headers=mfa).status_code == 401


# -- A19: forged and tampered JWTs -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWT built by hand (PyJWT refuses some of these): HS256/HS512 with any key, or unsigned."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[header["alg"]]
    return signing_input + "." + _b64(hmac.new(key, signing_input.encode(), digest).digest())


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


def _attacks(token: str, key: bytes) -> dict[str, str]:
    claims = _claims(token)
    now = int(time.time())
    attacker_key = os.urandom(64)
    header, payload, signature = token.split(".")
    tampered = dict(claims, scopes=["SYS_ADMIN"], sub="sysadmin@thingsboard.org")
    return {
        "alg none": _forge({"alg": "none", "typ": "JWT"}, claims, None),
        "alg None": _forge({"alg": "None", "typ": "JWT"}, claims, None),
        "alg NONE": _forge({"alg": "NONE", "typ": "JWT"}, claims, None),
        "stripped signature": f"{header}.{payload}.",
        "no signature part": f"{header}.{payload}",
        "HS256 re-signed with the real key": _forge({"alg": "HS256", "typ": "JWT"}, claims, key),
        "wrong key": _forge({"alg": "HS512", "typ": "JWT"}, claims, attacker_key),
        "empty key (kid /dev/null)": _forge(
            {"alg": "HS512", "typ": "JWT", "kid": "../../../../dev/null"}, claims, b""
        ),
        "kid SQL injection": _forge({"alg": "HS512", "kid": "x' UNION SELECT 'k"}, claims, b"k"),
        "embedded jwk": _forge(
            {"alg": "HS512", "jwk": {"kty": "oct", "k": _b64(attacker_key)}}, claims, attacker_key
        ),
        "jku": _forge(
            {"alg": "HS512", "jku": "https://evil.example/jwks.json"}, claims, attacker_key
        ),
        "expired": _forge({"alg": "HS512"}, dict(claims, iat=now - 7200, exp=now - 3600), key),
        "not yet valid": _forge({"alg": "HS512"}, dict(claims, nbf=now + 3600), key),
        "issued in the future, already expired": _forge(
            {"alg": "HS512"}, dict(claims, iat=now + 3600, exp=now - 1), key
        ),
        "missing exp": _forge(
            {"alg": "HS512"}, {k: v for k, v in claims.items() if k != "exp"}, key
        ),
        "wrong iss": _forge({"alg": "HS512"}, dict(claims, iss="evil.example"), key),
        "missing iss": _forge(
            {"alg": "HS512"}, {k: v for k, v in claims.items() if k != "iss"}, key
        ),
        "tampered claims, old signature": f"{header}.{_b64(json.dumps(tampered).encode())}.{signature}",
        "tampered claims, wrong key": _forge({"alg": "HS512"}, tampered, attacker_key),
        "garbage": "not.a.jwt",
        "empty scopes": _forge({"alg": "HS512"}, dict(claims, scopes=[]), key),
        "unknown scope": _forge({"alg": "HS512"}, dict(claims, scopes=["ROOT"]), key),
    }


def test_forged_pre_verification_tokens_are_refused(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    token = pv_of(client, victim)["X-Authorization"][7:]
    for name, forged in _attacks(token, jwt_key(container)).items():
        r = client.get("/api/auth/2fa/providers", headers=bearer(forged))
        assert r.status_code == 401, (name, r.text)
    assert client.get("/api/auth/2fa/providers", headers=bearer(token)).status_code == 200


def test_forged_access_tokens_are_refused(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    token = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).json()["token"]
    for name, forged in _attacks(token, jwt_key(container)).items():
        r = client.get("/api/auth/user", headers=bearer(forged))
        assert r.status_code == 401, (name, r.text)
    assert client.get("/api/auth/user", headers=bearer(token)).status_code == 200


def test_token_type_confusion_even_with_a_valid_signature(container, client, victim, other) -> None:  # type: ignore[no-untyped-def]
    """Claims edited by someone holding the key still need the server-side row behind the token:
    a restricted token needs its ACTIVE login attempt of the same user and scope, an access token
    its live session."""
    key = jwt_key(container)
    pv = pv_of(client, victim)["X-Authorization"][7:]
    claims = _claims(pv)
    cases = {
        # The victim's attempt presented for another user.
        "pv with another userId": (
            "/api/auth/2fa/providers",
            dict(claims, userId=str(other.id), sub=other.email),
        ),
        # The pre-verification token's attempt reused as a configuration token.
        "pv relabelled MFA_CONFIGURATION_TOKEN": (
            "/api/2fa/account/settings",
            dict(claims, scopes=["MFA_CONFIGURATION_TOKEN"]),
        ),
        # A restricted token relabelled as a full one: no session behind it.
        "pv relabelled TENANT_ADMIN": ("/api/auth/user", dict(claims, scopes=["TENANT_ADMIN"])),
        "pv without jti": (
            "/api/auth/2fa/providers",
            {k: v for k, v in claims.items() if k != "jti"},
        ),
        "pv with a random jti": ("/api/auth/2fa/providers", dict(claims, jti=str(uuid.uuid4()))),
    }
    pair = check(client, pv_of(client, other), "TOTP", oathtool(other.secret)).json()
    access = _claims(pair["token"])
    cases["access relabelled PRE_VERIFICATION_TOKEN"] = (
        "/api/auth/2fa/providers",
        dict(access, scopes=["PRE_VERIFICATION_TOKEN"]),
    )
    cases["access with a random sessionId"] = (
        "/api/auth/user",
        dict(access, sessionId=str(uuid.uuid4())),
    )
    cases["access without sessionId"] = (
        "/api/auth/user",
        {k: v for k, v in access.items() if k != "sessionId"},
    )
    for name, (path, edited) in cases.items():
        r = client.get(path, headers=bearer(jwt.encode(edited, key, algorithm="HS512")))
        assert r.status_code in (401, 403), (name, r.status_code, r.text)
    # The refresh token is not an access token, and the access token opens no second step.
    assert client.get("/api/auth/user", headers=bearer(pair["refreshToken"])).status_code in (
        401,
        403,
    )
    assert client.get("/api/auth/2fa/providers", headers=bearer(pair["token"])).status_code == 403
