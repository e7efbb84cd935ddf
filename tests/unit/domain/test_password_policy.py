from __future__ import annotations

from twostep.domain import password_policy, security_settings


def test_thingsboard_example_reports_every_failure_in_order() -> None:
    policy = {"minimumLength": 8, "minimumUppercaseLetters": 1, "minimumDigits": 1}
    assert password_policy.violations("abc", policy) == [
        "Password must be 8 or more characters in length.",
        "Password must contain 1 or more uppercase characters.",
        "Password must contain 1 or more digit characters.",
    ]


def test_maximum_length_only_when_above_minimum() -> None:
    assert password_policy.violations("x" * 73, {"minimumLength": 6, "maximumLength": 72}) == [
        "Password must be no more than 72 characters in length."
    ]
    assert password_policy.violations("x" * 73, {"minimumLength": 6, "maximumLength": 6}) == []


def test_special_and_whitespace_rules() -> None:
    policy = {"minimumLength": 1, "minimumSpecialCharacters": 1, "allowWhitespaces": False}
    assert password_policy.violations("a b\tc", policy) == [
        "Password must contain 1 or more special characters.",
        "Password contains a whitespace character.",
        "Password contains a whitespace character.",
    ]
    assert password_policy.violations("a€b", {"minimumLength": 1, "minimumSpecialCharacters": 1}) == []


def test_security_settings_reject_what_thingsboard_breaks_on() -> None:
    import pytest

    from twostep.domain.errors import BadRequest

    body = security_settings.defaults()
    del body["passwordPolicy"]
    with pytest.raises(BadRequest, match="passwordPolicy must not be null"):
        security_settings.validate(body)
    body = security_settings.defaults()
    body["userActivationTokenTtl"] = 25
    with pytest.raises(BadRequest, match="userActivationTokenTtl must be less than or equal to 24"):
        security_settings.validate(body)
    assert security_settings.validate(security_settings.defaults()) == security_settings.defaults()
