"""Fixtures for the attack tests of spec/security.md §4 (helpers live in tests/security/helpers.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.fuzzing import loopback_only, server_errors  # noqa: F401 (fixtures)
from tests.security.helpers import MAX_FAILURES, OTHER_EMAIL, OTHER_PASSWORD, Account, make_account
from tests.twofa_helpers import save_platform


@pytest.fixture
def platform(client, sysadmin_headers) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """All four providers, lockout after MAX_FAILURES consecutive 2FA failures."""
    return save_platform(
        client, sysadmin_headers, maxVerificationFailuresBeforeUserLockout=MAX_FAILURES
    )


@pytest.fixture
def victim(container, client, platform) -> Account:  # type: ignore[no-untyped-def]
    """A tenant admin with TOTP enrolled (confirmed with the previous step's code)."""
    return make_account(container, client)


@pytest.fixture
def other(container, client, platform) -> Account:  # type: ignore[no-untyped-def]
    """A second user with TOTP, in another tenant."""
    return make_account(container, client, OTHER_EMAIL, OTHER_PASSWORD)
