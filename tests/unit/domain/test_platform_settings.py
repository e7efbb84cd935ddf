from __future__ import annotations

import pytest

from twostep.domain.errors import BadRequest
from twostep.domain.twofa import platform
from twostep.domain.twofa.platform import UsersFilter

BASE = {
    "providers": [{"providerType": "TOTP", "issuerName": "TB"}],
    "minVerificationCodeSendPeriod": 30,
    "totalAllowedTimeForVerification": 600,
}


def _msg(body: dict) -> str:  # type: ignore[type-arg]
    with pytest.raises(BadRequest) as err:
        platform.parse(body)
    return err.value.message


@pytest.mark.parametrize(
    "change,message",
    [
        ({"verificationCodeCheckRateLimit": "0:10"}, "Validation error: verificationCodeCheckRateLimit is invalid"),
        ({"verificationCodeCheckRateLimit": "3:10,4:20"}, "Validation error: verificationCodeCheckRateLimit is invalid"),
        ({"maxVerificationFailuresBeforeUserLockout": -1}, "Validation error: maxVerificationFailuresBeforeUserLockout must be positive"),
        ({"totalAllowedTimeForVerification": 59}, "Validation error: totalAllowedTimeForVerification must be greater than or equal to 60"),
        ({"providers": [{"providerType": "TOTP", "issuerName": "  "}]}, "Validation error: issuerName must not be blank"),
        ({"providers": [{"providerType": "SMS", "verificationCodeLifetime": 60, "smsVerificationMessageTemplate": "no code"}]},
         "Validation error: smsVerificationMessageTemplate must contain verification code"),
        ({"providers": [{"providerType": "SMS", "verificationCodeLifetime": 60, "smsVerificationMessageTemplate": "a\n${code}"}]},
         "Validation error: smsVerificationMessageTemplate must contain verification code"),
        ({"providers": [{"providerType": "SMS", "verificationCodeLifetime": 60}]}, "Validation error: smsVerificationMessageTemplate is required"),
        ({"providers": [{"providerType": "EMAIL"}]}, "Validation error: verificationCodeLifetime is required"),
        ({"minVerificationCodeSendPeriod": 4}, "Validation error: minVerificationCodeSendPeriod must be greater than or equal to 5"),
        ({"providers": None}, "Validation error: providers must not be null"),
        # twostep's hard bounds (spec/security.md §6)
        ({"providers": [{"providerType": "EMAIL", "verificationCodeLifetime": 601}]}, "Validation error: verificationCodeLifetime must be less than or equal to 600"),
        ({"maxVerificationFailuresBeforeUserLockout": 0}, "Validation error: maxVerificationFailuresBeforeUserLockout must be between 1 and 100"),
        ({"maxVerificationFailuresBeforeUserLockout": 101}, "Validation error: maxVerificationFailuresBeforeUserLockout must be between 1 and 100"),
        ({"totalAllowedTimeForVerification": 3601}, "Validation error: totalAllowedTimeForVerification must be less than or equal to 3600"),
        ({"providers": [{"providerType": "BACKUP_CODE", "codesQuantity": 10}]}, "Backup codes cannot be the only 2FA provider"),
    ],
)
def test_validation_messages(change: dict, message: str) -> None:  # type: ignore[type-arg]
    assert _msg({**BASE, **change}) == message


def test_all_problems_are_reported_sorted() -> None:
    message = _msg({"providers": [], "minVerificationCodeSendPeriod": 1, "totalAllowedTimeForVerification": 1})
    assert message == (
        "Validation error: minVerificationCodeSendPeriod must be greater than or equal to 5, "
        "totalAllowedTimeForVerification must be greater than or equal to 60"
    )


def test_enforcement_needs_providers_and_filter() -> None:
    with pytest.raises(BadRequest, match="At least one 2FA provider is required if enforcing is enabled"):
        platform.check_enforcement(platform.parse({**BASE, "providers": [], "enforceTwoFa": True,
                                                   "enforcedUsersFilter": {"type": "ALL_USERS"}}))
    with pytest.raises(BadRequest, match="Users filter to enforce 2FA for is required"):
        platform.check_enforcement(platform.parse({**BASE, "enforceTwoFa": True}))


def test_defaults_and_round_trip() -> None:
    parsed = platform.parse(BASE)
    assert parsed.max_failures == 30 and parsed.check_rate_limit is None and parsed.token_lifetime == 600
    assert platform.parse(parsed.to_json()) == parsed


def test_users_filter_semantics() -> None:
    import uuid

    t1, t2, p1 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert UsersFilter("ALL_USERS").matches(authority="CUSTOMER_USER", tenant_id=t1, tenant_profile_id=None)
    assert UsersFilter("SYSTEM_ADMINISTRATORS").matches(authority="SYS_ADMIN", tenant_id=t1, tenant_profile_id=None)
    assert not UsersFilter("SYSTEM_ADMINISTRATORS").matches(authority="TENANT_ADMIN", tenant_id=t1, tenant_profile_id=None)
    only_t1 = UsersFilter("TENANT_ADMINISTRATORS", frozenset({t1}), frozenset({p1}))
    assert only_t1.matches(authority="TENANT_ADMIN", tenant_id=t1, tenant_profile_id=None)
    assert not only_t1.matches(authority="TENANT_ADMIN", tenant_id=t2, tenant_profile_id=p1)
    by_profile = UsersFilter("TENANT_ADMINISTRATORS", frozenset(), frozenset({p1}))
    assert by_profile.matches(authority="TENANT_ADMIN", tenant_id=t2, tenant_profile_id=p1)
    assert not by_profile.matches(authority="CUSTOMER_USER", tenant_id=t2, tenant_profile_id=p1)
