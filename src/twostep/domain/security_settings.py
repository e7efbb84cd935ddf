"""System security settings: ThingsBoard's defaults and the server-side validation it lacks."""

from __future__ import annotations

import copy
from typing import Any

from twostep.domain.contacts import is_email
from twostep.domain.errors import BadRequest

DEFAULTS: dict[str, Any] = {
    "passwordPolicy": {
        "minimumLength": 6,
        "maximumLength": 72,
        "minimumUppercaseLetters": None,
        "minimumLowercaseLetters": None,
        "minimumDigits": None,
        "minimumSpecialCharacters": None,
        "allowWhitespaces": True,
        "forceUserToResetPasswordIfNotValid": False,
        "passwordExpirationPeriodDays": None,
        "passwordReuseFrequencyDays": None,
    },
    "maxFailedLoginAttempts": None,
    "userLockoutNotificationEmail": None,
    "mobileSecretKeyLength": 64,
    "userActivationTokenTtl": 24,
    "passwordResetTokenTtl": 24,
    # twostep: email the account owner when a login passes the password but fails the second step.
    "notifyOnFailedSecondFactor": True,
}

_INT_FIELDS = ("minimumLength", "maximumLength", "minimumUppercaseLetters", "minimumLowercaseLetters",
               "minimumDigits", "minimumSpecialCharacters", "passwordExpirationPeriodDays",
               "passwordReuseFrequencyDays")


# Upper bounds of the policy's numbers (ThingsBoard has none): far beyond any real policy, and
# small enough that no length, count or date computed from them overflows anything.
_MAX_POLICY_COUNT = 4096  # characters of a password
_MAX_POLICY_DAYS = 36_500  # a century
_POLICY_MAXIMUM = {key: _MAX_POLICY_COUNT for key in _INT_FIELDS} | {
    "passwordExpirationPeriodDays": _MAX_POLICY_DAYS,
    "passwordReuseFrequencyDays": _MAX_POLICY_DAYS,
}
_MAX_SECRET_KEY_LENGTH = 1024


def defaults() -> dict[str, Any]:
    return copy.deepcopy(DEFAULTS)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(body: Any) -> dict[str, Any]:
    """The settings to store, or BadRequest. Rejects what ThingsBoard accepts and then breaks on."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid request body")
    problems: list[str] = []
    for ttl in ("userActivationTokenTtl", "passwordResetTokenTtl"):
        value = body.get(ttl)
        if value is None:
            problems.append(f"{ttl} must not be null")
        elif not _is_int(value):
            problems.append(f"{ttl} must be an integer")
        elif value < 1:
            problems.append(f"{ttl} must be greater than or equal to 1")
        elif value > 24:
            problems.append(f"{ttl} must be less than or equal to 24")
    policy = body.get("passwordPolicy")
    if not isinstance(policy, dict):
        problems.append("passwordPolicy must not be null")
        policy = {}
    else:
        for key in _INT_FIELDS:
            value = policy.get(key)
            if value is not None and (not _is_int(value) or value < 0):
                problems.append(f"{key} must be a non-negative integer")
            elif value is not None and value > _POLICY_MAXIMUM[key]:
                problems.append(f"{key} must be less than or equal to {_POLICY_MAXIMUM[key]}")
        minimum = policy.get("minimumLength")
        if minimum is None:
            problems.append("minimumLength must not be null")
        elif _is_int(minimum) and not 1 <= minimum <= 1024:
            problems.append("minimumLength must be between 1 and 1024")
        for flag in ("allowWhitespaces", "forceUserToResetPasswordIfNotValid"):
            if policy.get(flag) is not None and not isinstance(policy.get(flag), bool):
                problems.append(f"{flag} must be a boolean")
    attempts = body.get("maxFailedLoginAttempts")
    if attempts is not None and (not _is_int(attempts) or not 0 <= attempts <= 65535):
        problems.append("maxFailedLoginAttempts must be between 0 and 65535")
    address = body.get("userLockoutNotificationEmail")
    if address not in (None, "") and not is_email(address):
        problems.append("userLockoutNotificationEmail must be a well-formed email address")
    secret_len = body.get("mobileSecretKeyLength")
    if secret_len is not None and (not _is_int(secret_len) or secret_len < 1):
        problems.append("mobileSecretKeyLength must be greater than or equal to 1")
    elif secret_len is not None and secret_len > _MAX_SECRET_KEY_LENGTH:
        problems.append(
            f"mobileSecretKeyLength must be less than or equal to {_MAX_SECRET_KEY_LENGTH}"
        )
    notify = body.get("notifyOnFailedSecondFactor")
    if notify is not None and not isinstance(notify, bool):
        problems.append("notifyOnFailedSecondFactor must be a boolean")
    if problems:
        raise BadRequest("Validation error: " + ", ".join(sorted(set(problems))))
    stored = defaults()
    stored_policy = {k: policy.get(k) for k in DEFAULTS["passwordPolicy"]}
    for flag, default in (("allowWhitespaces", True), ("forceUserToResetPasswordIfNotValid", False)):
        if stored_policy[flag] is None:
            stored_policy[flag] = default
    stored["passwordPolicy"] = stored_policy
    for key in DEFAULTS:
        if key != "passwordPolicy":
            stored[key] = body.get(key, DEFAULTS[key] if key == "notifyOnFailedSecondFactor" else None)
    if stored["notifyOnFailedSecondFactor"] is None:
        stored["notifyOnFailedSecondFactor"] = True
    return stored
