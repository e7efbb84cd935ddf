"""A22: input canonicalisation and type confusion on the code field (spec/security.md §4).

The defences: a login code is exactly six ASCII digits (`[0-9]{6}`, full match) and a backup code
exactly sixteen lowercase hex characters; anything else is "incorrect" (400, counted) before any
comparison, so Unicode digits that pyotp's NFKC comparison would fold into ASCII never match;
repeated parameters are refused; bad input never gives a 5xx.

Hypothesis generates the inputs; the 2FA failure counter is put back to zero between examples
(the lockout has its own tests) so every example is evaluated.

Not applicable: JSON numbers/arrays/objects and mixed JSON+form bodies for the code - ThingsBoard's
API takes `verificationCode` from the query string only (a body is ignored, tested below).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from tests.factories import oathtool
from tests.security.helpers import check, last_code_to, pv_of, send
from tests.twofa_helpers import enroll_backup, enroll_delivered, save_platform
from twostep.storage import tables as t
from twostep.web.input_guard import NUL_IN_REQUEST

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _reset_failures(container, user_id) -> None:  # type: ignore[no-untyped-def]
    with container.db.transaction() as conn:
        conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == user_id)
            .values(twofa_failed_attempts=0)
        )


@pytest.fixture
def roomy(client, sysadmin_headers, victim):  # type: ignore[no-untyped-def]
    """The victim, with a lockout limit high enough for a dozen variants in a row."""
    save_platform(client, sysadmin_headers, maxVerificationFailuresBeforeUserLockout=100)
    return victim


def _translate(code: str, zero: str) -> str:
    """The code written with another script's digits (`zero` is that script's 0)."""
    return "".join(chr(ord(zero) + int(d)) for d in code)


DIGIT_VARIANTS = {
    "full-width": lambda c: _translate(c, "\uff10"),
    "arabic-indic": lambda c: _translate(c, "\u0660"),
    "devanagari": lambda c: _translate(c, "\u0966"),
    "mathematical bold": lambda c: _translate(c, "\U0001d7ce"),
    "superscript": lambda c: "".join(
        "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"[int(d)] for d in c
    ),
    "leading space": lambda c: " " + c,
    "trailing space": lambda c: c + " ",
    "trailing newline": lambda c: c + "\n",
    "no-break space": lambda c: c[:3] + "\u00a0" + c[3:],
    "zero-width space": lambda c: c + "\u200b",
    "plus sign": lambda c: "+" + c,
    "underscore": lambda c: c[:3] + "_" + c[3:],
    "leading zero": lambda c: "0" + c,
    "NUL": lambda c: c + "\x00",
}


@pytest.mark.parametrize("name", list(DIGIT_VARIANTS))
def test_a_valid_totp_code_written_differently_is_refused(client, roomy, name) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    code = oathtool(roomy.secret, now)
    pv = pv_of(client, roomy)
    variant = DIGIT_VARIANTS[name](code)
    assert variant != code
    r = check(client, pv, "TOTP", variant)
    # A NUL never gets as far as the check: the address holding it is refused (issue 15).
    expected = NUL_IN_REQUEST if "\x00" in variant else "Verification code is incorrect"
    assert (r.status_code, r.json()["message"]) == (400, expected), (name, repr(variant))
    # The exact code still works: the variant neither matched nor used up the step.
    assert check(client, pv, "TOTP", code).status_code == 200


BACKUP_VARIANTS = {
    "upper case": str.upper,
    "spaces": lambda c: " ".join(c[i : i + 4] for i in range(0, len(c), 4)),
    "dashes": lambda c: "-".join(c[i : i + 4] for i in range(0, len(c), 4)),
    "full-width": lambda c: "".join(chr(ord(ch) + 0xFEE0) for ch in c),
    "trailing newline": lambda c: c + "\n",
    "prefix": lambda c: "x" + c,
    "truncated": lambda c: c[:-1],
}


def test_a_valid_backup_code_written_differently_is_refused(client, roomy) -> None:  # type: ignore[no-untyped-def]
    codes = enroll_backup(client, roomy.headers)
    code = next(c for c in codes if any(ch.isalpha() for ch in c))
    pv = pv_of(client, roomy)
    for name, variant in BACKUP_VARIANTS.items():
        assert check(client, pv, "BACKUP_CODE", variant(code)).status_code == 400, name
    assert check(client, pv, "BACKUP_CODE", code).status_code == 200


def test_a_delivered_code_written_differently_is_refused(container, client, roomy) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, roomy.headers, "EMAIL", "inbox@example.com")
    pv = pv_of(client, roomy)
    assert send(client, pv, "EMAIL").status_code == 200
    code = last_code_to(container, "inbox@example.com")
    for name in ("full-width", "arabic-indic", "trailing space", "leading zero"):
        assert check(client, pv, "EMAIL", DIGIT_VARIANTS[name](code)).status_code == 400, name
    assert check(client, pv, "EMAIL", code).status_code == 200


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_NEAR_DIGITS = st.text(
    st.characters(whitelist_categories=("Nd", "No", "Zs")), min_size=1, max_size=8
)
_CODES = st.one_of(
    _TEXT, _NEAR_DIGITS, st.from_regex(r"\A[0-9]{0,12}\Z"), st.from_regex(r"\A[0-9a-fA-F]{14,18}\Z")
)


@FUZZ
@given(provider=st.sampled_from(["TOTP", "BACKUP_CODE"]), code=_CODES)
def test_generated_codes_never_crash_and_never_pass(
    container, client, roomy, provider, code
) -> None:  # type: ignore[no-untyped-def]
    _reset_failures(container, roomy.id)
    if not hasattr(roomy, "pv"):
        enroll_backup(client, roomy.headers)
        roomy.pv = pv_of(client, roomy)  # type: ignore[attr-defined]
    valid = {oathtool(roomy.secret, time.time() + d) for d in (-30, 0)}
    r = check(client, roomy.pv, provider, code)  # type: ignore[attr-defined]
    assert r.status_code < 500, (repr(code), r.text)
    if r.status_code == 200:
        raise AssertionError(f"{code!r} was accepted")
    assert code in valid or r.status_code == 400, (repr(code), r.status_code, r.text)


@FUZZ
@given(provider=_TEXT, code=st.one_of(st.none(), _TEXT))
def test_generated_provider_types_never_crash(container, client, roomy, provider, code) -> None:  # type: ignore[no-untyped-def]
    _reset_failures(container, roomy.id)
    if not hasattr(roomy, "pv"):
        roomy.pv = pv_of(client, roomy)  # type: ignore[attr-defined]
    for path in ("/api/auth/2fa/verification/check", "/api/auth/2fa/verification/send"):
        params = (
            {"providerType": provider}
            if code is None
            else {"providerType": provider, "verificationCode": code}
        )
        r = client.post(path, headers=roomy.pv, params=params)  # type: ignore[attr-defined]
        assert r.status_code < 500, (path, repr(provider), r.text)
        if provider not in ("TOTP", "SMS", "EMAIL", "BACKUP_CODE"):
            assert r.status_code == 400, (path, repr(provider), r.status_code)


_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        _TEXT,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=10,
)


@FUZZ
@given(username=_JSON, password=_JSON)
def test_generated_login_bodies_never_crash(client, roomy, username, password) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code in (400, 401), (username, password, r.status_code, r.text)


@FUZZ
@given(
    body=st.fixed_dictionaries(
        {"providerType": st.sampled_from(["TOTP", "SMS", "EMAIL", "BACKUP_CODE"])},
        optional={
            "useByDefault": _JSON,
            "authUrl": _JSON,
            "phoneNumber": _JSON,
            "email": _JSON,
            "codes": _JSON,
        },
    ),
    code=st.one_of(st.none(), _TEXT),
)
def test_generated_enrollment_bodies_never_crash_or_enroll(client, roomy, body, code) -> None:  # type: ignore[no-untyped-def]
    params = {} if code is None else {"verificationCode": code}
    for path in ("/api/2fa/account/config/submit", "/api/2fa/account/config"):
        r = client.post(path, headers=roomy.headers, params=params, json=body)
        assert r.status_code < 500, (path, body, r.text)
        if path == "/api/2fa/account/config":
            assert r.status_code in (400, 429), (body, code, r.status_code, r.text)


def test_parameter_shapes(client, roomy) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, roomy)
    code = oathtool(roomy.secret)
    url = "/api/auth/2fa/verification/check"
    shapes = {
        "missing code": client.post(url + "?providerType=TOTP", headers=pv),
        "empty code": client.post(url + "?providerType=TOTP&verificationCode=", headers=pv),
        "repeated code (HPP)": client.post(
            url + f"?providerType=TOTP&verificationCode=000000&verificationCode={code}", headers=pv
        ),
        "repeated code, valid first": client.post(
            url + f"?providerType=TOTP&verificationCode={code}&verificationCode=000000", headers=pv
        ),
        "repeated provider": client.post(
            url + f"?providerType=SMS&providerType=TOTP&verificationCode={code}", headers=pv
        ),
        "array syntax": client.post(
            url + f"?providerType=TOTP&verificationCode[]={code}", headers=pv
        ),
        "code in JSON body": client.post(
            url + "?providerType=TOTP", headers=pv, json={"verificationCode": code}
        ),
        "code in form body": client.post(
            url + "?providerType=TOTP", headers=pv, data={"verificationCode": code}
        ),
        "lower-case provider": client.post(
            url + f"?providerType=totp&verificationCode={code}", headers=pv
        ),
        "provider with newline": client.post(
            url + f"?providerType=TOTP%0A&verificationCode={code}", headers=pv
        ),
        "5 000 digits": client.post(
            url + "?providerType=TOTP&verificationCode=" + "1" * 5000, headers=pv
        ),
    }
    for name, r in shapes.items():
        assert r.status_code in (400, 413, 414), (name, r.status_code, r.text)
    assert check(client, pv, "TOTP", code).status_code == 200
