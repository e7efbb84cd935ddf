"""ThingsBoard's default-provider and pruning rules (§1.3.1, §3.6, §3.7)."""

from __future__ import annotations

import pytest

from twostep.domain.errors import BadRequest
from twostep.domain.twofa import account
from twostep.domain.twofa.account import Entry
from twostep.domain.twofa.providers import ProviderType as P


def _e(*items: tuple[P, bool]) -> list[Entry]:
    return [Entry(p, d, i) for i, (p, d) in enumerate(items)]


def defaults(entries: list[Entry]) -> list[P]:
    return [e.type for e in entries if e.default]


def test_backup_codes_never_first() -> None:
    with pytest.raises(BadRequest, match="To use 2FA backup codes you first need to configure at least one provider"):
        account.add([], P.BACKUP_CODE, default=False, position=1)


def test_first_provider_becomes_default_and_new_default_clears_others() -> None:
    one = account.add([], P.SMS, default=False, position=1)
    assert defaults(one) == [P.SMS]
    two = account.add(one, P.TOTP, default=True, position=2)
    assert defaults(two) == [P.TOTP]
    with pytest.raises(BadRequest, match="2FA provider is already configured"):
        account.add(two, P.TOTP, default=False, position=3)


def test_backup_code_never_default() -> None:
    result = account.add(_e((P.TOTP, True)), P.BACKUP_CODE, default=True, position=5)
    assert defaults(result) == [P.TOTP]
    with pytest.raises(BadRequest):
        account.set_default(result, P.BACKUP_CODE, True)


def test_remove_drops_lonely_backup_codes_and_picks_default_by_enum_order() -> None:
    entries = _e((P.EMAIL, False), (P.SMS, True), (P.TOTP, False), (P.BACKUP_CODE, False))
    after = account.remove(entries, P.SMS)
    assert defaults(after) == [P.TOTP]
    assert [e.type for e in account.remove(_e((P.TOTP, True), (P.BACKUP_CODE, False)), P.TOTP)] == []


def test_prune_removes_disabled_providers() -> None:
    entries = _e((P.SMS, True), (P.BACKUP_CODE, False), (P.EMAIL, False))
    after = account.prune(entries, [P.EMAIL, P.BACKUP_CODE])
    assert [e.type for e in after] == [P.BACKUP_CODE, P.EMAIL] and defaults(after) == [P.EMAIL]
    assert account.prune(entries, [P.BACKUP_CODE]) == []
    assert account.prune(entries, []) == []


def test_update_missing_and_unset_default() -> None:
    entries = _e((P.SMS, True), (P.EMAIL, False))
    with pytest.raises(BadRequest, match="Config for TOTP 2FA provider not found"):
        account.set_default(entries, P.TOTP, True)
    assert defaults(account.set_default(entries, P.SMS, False)) == [P.SMS]
    assert defaults(account.set_default(entries, P.EMAIL, True)) == [P.EMAIL]
