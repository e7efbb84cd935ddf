"""A1 OTP brute force, A3 counter-reset tricks, A21 malicious lockout (spec/security.md §4).

The defence: one persistent 2FA failure counter per account, shared by every factor, every
pre-verification token, every resend and every client; charged before the code is checked; reset
only by a successful second step or an administrator; the account locks at
maxVerificationFailuresBeforeUserLockout (here 5) and then even the correct code is refused.

Not applicable: "step-up", "disable-2FA" and "change-phone" endpoints that accept a code do not
exist in this API (ThingsBoard's settings routes take a full session, not a code), so the login
check is the only code-accepting endpoint at login; setup codes have their own limit
(test_mfa_management.py).
"""

from __future__ import annotations

import pytest

from tests.factories import oathtool
from tests.security.helpers import (
    INCORRECT,
    LOCKED,
    MAX_FAILURES,
    INVALID,
    Account,
    check,
    credentials_row,
    expire_login_attempts,
    last_code_to,
    pv_of,
    send,
    wrong_totp,
)
from tests.support import outbox
from tests.twofa_helpers import enroll_backup, enroll_delivered, save_platform

PHONE = "+12015551111"
MAILBOX = "victim.inbox@example.com"


def _arm(container, client, victim: Account, factor: str):  # type: ignore[no-untyped-def]
    """Enroll `factor` for the victim; returns (wrong code, function pv -> currently valid code)."""
    if factor == "TOTP":
        return wrong_totp(victim.secret), lambda pv: oathtool(victim.secret)  # type: ignore[arg-type]
    if factor == "BACKUP_CODE":
        codes = enroll_backup(client, victim.headers)
        return "0" * 8, lambda pv: codes[0]
    target = PHONE if factor == "SMS" else MAILBOX
    enroll_delivered(client, container, victim.headers, factor, target)

    def deliver(pv):  # type: ignore[no-untyped-def]
        assert send(client, pv, factor).status_code == 200
        return last_code_to(container, target)

    return "000000", deliver


def _assert_locked_out(client, victim: Account, pv, provider: str, correct: str) -> None:  # type: ignore[no-untyped-def]
    r = check(client, pv, provider, correct)
    assert r.status_code == 401, r.text  # the correct code no longer helps
    r = client.post("/api/auth/login", json={"username": victim.email, "password": victim.password})
    assert (r.status_code, r.json()["message"]) == (401, INVALID)  # as a wrong password: no oracle


# -- A1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", ["TOTP", "SMS", "EMAIL", "BACKUP_CODE"])
def test_each_factor_locks_after_the_limit_and_then_refuses_the_correct_code(
    container, client, victim, factor
) -> None:  # type: ignore[no-untyped-def]
    wrong, valid = _arm(container, client, victim, factor)
    pv = pv_of(client, victim)
    correct = valid(pv)
    answers = [check(client, pv, factor, wrong) for _ in range(MAX_FAILURES)]
    assert [(r.status_code, r.json()["message"]) for r in answers] == [(400, INCORRECT)] * (
        MAX_FAILURES - 1
    ) + [(401, LOCKED)]
    _assert_locked_out(client, victim, pv, factor, correct)
    assert credentials_row(container, victim.id).enabled is False


def test_a_guessing_script_gets_at_most_the_limit_of_evaluations(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    """Sequential guesses 000000, 000001, ... for up to 1 000 tries, logging in again whenever the
    pre-verification token dies: the script is stopped after MAX_FAILURES evaluated guesses."""
    valid = {oathtool(victim.secret, victim.enrolled_at + d) for d in range(-60, 600, 30)}
    guesses = (f"{i:06d}" for i in range(1000) if f"{i:06d}" not in valid)
    pv = pv_of(client, victim)
    statuses = []
    for guess in guesses:
        r = check(client, pv, "TOTP", guess)
        statuses.append(r.status_code)
        if r.status_code == 401:
            again = client.post(
                "/api/auth/login", json={"username": victim.email, "password": victim.password}
            )
            if again.status_code != 200:
                break
            pv = {"X-Authorization": f"Bearer {again.json()['token']}"}
    assert 200 not in statuses
    assert statuses.count(400) == MAX_FAILURES - 1, statuses
    assert len(statuses) == MAX_FAILURES, statuses


# -- A3 ------------------------------------------------------------------------------------------


def test_new_password_logins_do_not_reset_the_count(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    wrong = wrong_totp(victim.secret)
    for _ in range(MAX_FAILURES - 1):
        assert check(client, pv_of(client, victim), "TOTP", wrong).status_code == 400
    pv = pv_of(client, victim)  # a correct password once more
    assert credentials_row(container, victim.id).twofa_failed_attempts == MAX_FAILURES - 1
    r = check(client, pv, "TOTP", wrong)
    assert (r.status_code, r.json()["message"]) == (401, LOCKED)


def test_a_new_code_or_resend_does_not_reset_the_count(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    enroll_delivered(client, container, victim.headers, "SMS", PHONE)
    enroll_delivered(client, container, victim.headers, "EMAIL", MAILBOX)
    pv = pv_of(client, victim)
    assert send(client, pv, "SMS").status_code == 200
    assert [check(client, pv, "SMS", "000000").status_code for _ in range(2)] == [400, 400]
    assert send(client, pv, "EMAIL").status_code == 200  # a new code through another channel
    assert [check(client, pv, "EMAIL", "000000").status_code for _ in range(2)] == [400, 400]
    fresh = pv_of(client, victim)
    assert send(client, fresh, "SMS").status_code == 429  # the resend limit survives the new login
    r = check(client, fresh, "SMS", "000000")
    assert (r.status_code, r.json()["message"]) == (401, LOCKED)


def _wrong_code_on_every_factor(client, container, victim: Account) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Enrolls backup codes, SMS and email beside the victim's TOTP; a wrong code for each."""
    enroll_backup(client, victim.headers)
    enroll_delivered(client, container, victim.headers, "SMS", PHONE)
    enroll_delivered(client, container, victim.headers, "EMAIL", MAILBOX)
    return [
        ("TOTP", wrong_totp(victim.secret)),
        ("BACKUP_CODE", "f" * 8),
        ("SMS", "000000"),
        ("EMAIL", "000000"),
    ]


def test_switching_factors_shares_one_ceiling(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    sequence = _wrong_code_on_every_factor(client, container, victim)
    pv = pv_of(client, victim)
    assert [check(client, pv, p, c).status_code for p, c in sequence] == [400] * 4
    r = check(client, pv_of(client, victim), "TOTP", wrong_totp(victim.secret))
    assert (r.status_code, r.json()["message"]) == (401, LOCKED)


def test_the_check_rate_limit_is_per_user_across_factors(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    """A user with four methods gets the same guesses per window as a user with one (ThingsBoard
    keeps a bucket per provider: four times as many)."""
    save_platform(
        client,
        sysadmin_headers,
        verificationCodeCheckRateLimit="3:60",
        maxVerificationFailuresBeforeUserLockout=20,
    )
    sequence = _wrong_code_on_every_factor(client, container, victim)
    sequence.append(("TOTP", wrong_totp(victim.secret)))
    pv = pv_of(client, victim)
    assert [check(client, pv, p, c).status_code for p, c in sequence] == [400] * 3 + [429] * 2


def test_another_accounts_success_does_not_reset_the_count(
    container, client, victim, other
) -> None:  # type: ignore[no-untyped-def]
    wrong = wrong_totp(victim.secret)
    for _ in range(MAX_FAILURES - 1):
        assert check(client, pv_of(client, victim), "TOTP", wrong).status_code == 400
    assert check(client, pv_of(client, other), "TOTP", oathtool(other.secret)).status_code == 200
    r = check(client, pv_of(client, victim), "TOTP", wrong)
    assert (r.status_code, r.json()["message"]) == (401, LOCKED)


def test_waiting_for_the_token_to_expire_does_not_reset_the_count(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    wrong = wrong_totp(victim.secret)
    pv = pv_of(client, victim)
    for _ in range(MAX_FAILURES - 1):
        assert check(client, pv, "TOTP", wrong).status_code == 400
    expire_login_attempts(container, victim.id)
    assert (
        check(client, pv, "TOTP", wrong).status_code == 401
    )  # expired: not evaluated, not counted
    r = check(client, pv_of(client, victim), "TOTP", wrong)
    assert (r.status_code, r.json()["message"]) == (401, LOCKED)


def test_only_a_successful_second_step_resets_the_count(container, client, victim) -> None:  # type: ignore[no-untyped-def]
    wrong = wrong_totp(victim.secret)
    for _ in range(MAX_FAILURES - 1):
        assert check(client, pv_of(client, victim), "TOTP", wrong).status_code == 400
    assert check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).status_code == 200
    assert credentials_row(container, victim.id).twofa_failed_attempts == 0
    for _ in range(MAX_FAILURES - 1):
        assert check(client, pv_of(client, victim), "TOTP", wrong).status_code == 400


# -- A21 -----------------------------------------------------------------------------------------


def test_an_attacker_with_only_the_username_cannot_lock_the_second_factor(
    container, client, victim
) -> None:  # type: ignore[no-untyped-def]
    for i in range(3 * MAX_FAILURES):
        r = client.post(
            "/api/auth/login", json={"username": victim.email, "password": f"guess-{i}"}
        )
        assert r.status_code == 401
    # Without a pre-verification token no code can be tried at all.
    assert check(client, {}, "TOTP", "000000").status_code == 401
    assert credentials_row(container, victim.id).twofa_failed_attempts == 0
    assert check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).status_code == 200


def test_lockout_tells_the_owner_and_the_lockout_address(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    settings = client.get("/api/admin/securitySettings", headers=sysadmin_headers).json()
    settings["userLockoutNotificationEmail"] = "security-desk@example.com"
    assert (
        client.post(
            "/api/admin/securitySettings", headers=sysadmin_headers, json=settings
        ).status_code
        == 200
    )
    pv = pv_of(client, victim)
    for _ in range(MAX_FAILURES):
        check(client, pv, "TOTP", wrong_totp(victim.secret))
    recipients = [m["to"] for m in outbox(container.config)]
    assert "security-desk@example.com" in recipients
    owner = [
        m for m in outbox(container.config) if m["to"] == victim.email and "locked" in m["body"]
    ]
    assert len(owner) == 1


def test_an_administrator_unlocks_and_the_count_starts_again(
    container, client, sysadmin_headers, victim
) -> None:  # type: ignore[no-untyped-def]
    pv = pv_of(client, victim)
    for _ in range(MAX_FAILURES):
        check(client, pv, "TOTP", wrong_totp(victim.secret))
    r = client.post(
        f"/api/user/{victim.id}/userCredentialsEnabled?userCredentialsEnabled=true",
        headers=sysadmin_headers,
    )
    assert r.status_code == 200, r.text
    assert credentials_row(container, victim.id).twofa_failed_attempts == 0
    assert check(client, pv_of(client, victim), "TOTP", oathtool(victim.secret)).status_code == 200
