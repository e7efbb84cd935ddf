"""A5: TOTP replay within the acceptance window (spec/security.md §4, RFC 6238 §5.2).

The defence: the last accepted time step is stored per TOTP factor and only a strictly later step
is accepted, through one conditional UPDATE (`last_used_step < step`). The window is the current
step and one step back; the next step is never accepted. The step of the enrollment code counts as
used. Codes come from an independent implementation (oathtool) at explicit times.

Not applicable: a step-up endpoint that takes a TOTP code does not exist in this API; the other
code-accepting endpoint is enrollment (covered by the enrollment-code case).
"""

from __future__ import annotations

from tests.factories import oathtool
from tests.security.helpers import INCORRECT, check, pv_of, safe_step_time


def test_the_same_code_cannot_log_in_twice(client, victim) -> None:  # type: ignore[no-untyped-def]
    now = safe_step_time()
    code = oathtool(victim.secret, now)
    assert check(client, pv_of(client, victim), "TOTP", code).status_code == 200
    r = check(client, pv_of(client, victim), "TOTP", code)
    assert (r.status_code, r.json()["message"]) == (400, INCORRECT)


def test_an_older_step_is_refused_after_a_newer_one(client, victim) -> None:  # type: ignore[no-untyped-def]
    now = safe_step_time()
    assert (
        check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret, now)).status_code
        == 200
    )
    r = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret, now - 30))
    assert r.status_code == 400


def test_the_enrollment_code_cannot_log_in(client, victim) -> None:  # type: ignore[no-untyped-def]
    """enroll_totp confirmed with the code of the step before enrollment: that step is used up."""
    now = safe_step_time()
    r = check(
        client, pv_of(client, victim), "TOTP", oathtool(victim.secret, victim.enrolled_at - 30)
    )
    assert (r.status_code, r.json()["message"]) == (400, INCORRECT)
    # The current step is still free.
    assert (
        check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret, now)).status_code
        == 200
    )


def test_a_replayed_code_on_the_same_token_is_refused(client, victim) -> None:  # type: ignore[no-untyped-def]
    """The pair was issued; the token is spent. A second login sees the step as used."""
    now = safe_step_time()
    pv = pv_of(client, victim)
    code = oathtool(victim.secret, now)
    assert check(client, pv, "TOTP", code).status_code == 200
    assert check(client, pv, "TOTP", code).status_code == 401


def test_the_window_is_one_step_back_and_never_forward(client, victim) -> None:  # type: ignore[no-untyped-def]
    now = safe_step_time()
    for offset in (30, 60, -60, -90):
        r = check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret, now + offset))
        assert r.status_code == 400, offset
    assert (
        check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret, now)).status_code
        == 200
    )


def test_a_wrong_code_does_not_use_up_the_step(client, victim) -> None:  # type: ignore[no-untyped-def]
    now = safe_step_time()
    code = oathtool(victim.secret, now)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    pv = pv_of(client, victim)
    assert check(client, pv, "TOTP", wrong).status_code == 400
    assert check(client, pv, "TOTP", code).status_code == 200
