"""A user's set of second factors: ThingsBoard's ordering, default-provider and pruning rules.

Pure functions over (type, default, position) entries; the service persists the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from twostep.domain.errors import BadRequest
from twostep.domain.twofa.providers import ORDER, ProviderType

B = ProviderType.BACKUP_CODE


@dataclass(frozen=True)
class Entry:
    type: ProviderType
    default: bool
    position: int


def ordered(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: e.position)


def _first_default(entries: list[Entry], *, by_enum: bool = False, skip_backup: bool = False) -> list[Entry]:
    if not entries or any(e.default for e in entries):
        return entries
    pool = [e for e in entries if not (skip_backup and e.type == B)] or entries
    chosen = min(pool, key=lambda e: ORDER[e.type]) if by_enum else ordered(pool)[0]
    return [replace(e, default=e.type == chosen.type) for e in entries]


def prune(entries: list[Entry], enabled: list[ProviderType]) -> list[Entry]:
    """§3.6: drop providers the sysadmin disabled; backup codes never stay alone."""
    kept = [e for e in entries if e.type in enabled]
    if len(kept) == 1 and kept[0].type == B:
        kept = []
    return _first_default(kept, skip_backup=True)


def add(entries: list[Entry], new: ProviderType, *, default: bool, position: int) -> list[Entry]:
    """§1.3.1 steps 3-6."""
    if any(e.type == new for e in entries):
        raise BadRequest("2FA provider is already configured")
    if not entries and new == B:
        raise BadRequest("To use 2FA backup codes you first need to configure at least one provider")
    if new == B:
        default = False  # backup codes are never the main method
    result = [replace(e, default=False) for e in entries] if default else list(entries)
    result.append(Entry(new, default, position))
    return _first_default(result)


def remove(entries: list[Entry], gone: ProviderType) -> list[Entry]:
    """§3.7: remove; backup codes never stay alone; the default falls to the first by enum order."""
    result = [e for e in entries if e.type != gone]
    if len(result) == 1 and result[0].type == B:
        result = []
    return _first_default(result, by_enum=True)


def set_default(entries: list[Entry], target: ProviderType, use_by_default: bool) -> list[Entry]:
    if not any(e.type == target for e in entries):
        raise BadRequest(f"Config for {target.value} 2FA provider not found")
    if use_by_default:
        if target == B:
            raise BadRequest("Backup codes cannot be the main 2FA method")
        return [replace(e, default=e.type == target) for e in entries]
    result = [replace(e, default=False if e.type == target else e.default) for e in entries]
    return _first_default(result, skip_backup=True)
