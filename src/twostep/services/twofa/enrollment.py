"""Enrollment: generate, submit, verify-and-save, update, delete, and the admin reset.

Hardened against ThingsBoard (§3.11): `generate` keeps the TOTP secret and backup codes server-side,
and verify-and-save activates only what the server generated; SMS/email setup codes are bound to
the exact address they went to and stored only as keyed hashes.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update

from twostep.bootstrap import Container
from twostep.domain.contacts import is_e164, is_email
from twostep.domain.errors import (
    AuthenticationFailed,
    BadRequest,
    NotFound,
    PermissionDenied,
    TooManyRequests,
)
from twostep.domain.ids import now_ms
from twostep.domain.twofa import account, codes
from twostep.domain.twofa.platform import PlatformSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers import REGISTRY, delivered_code, totp
from twostep.providers.base import Generated, Submitted
from twostep.services.notifications import notices, sms_numbers
from twostep.services.records import audit, user_rows
from twostep.services.sessions import tokens
from twostep.services.twofa import change_guard, config_store, platform_settings
from twostep.services.values import Claims, ClientSeen, Principal, UserRecord
from twostep.storage import tables as t

log = logging.getLogger("twostep.twofa")

INCORRECT = "Verification code is incorrect"
SETUP_ATTEMPTS = 10  # per provider and user in SETUP_WINDOW_S: setup codes cannot be brute-forced
SETUP_WINDOW_S = 900


@dataclass(frozen=True)
class ConfigView:
    type: ProviderType
    default: bool
    phone: str | None = None
    email: str | None = None
    issuer: str | None = None
    account: str | None = None
    codes_left: int | None = None


@dataclass(frozen=True)
class AccountView:
    configs: list[ConfigView]


def _view(conn: Connection, user_email: str, config_rows: list[Any]) -> AccountView:
    views = []
    for r in config_rows:
        kind = ProviderType(r.provider_type)
        views.append(
            ConfigView(
                type=kind,
                default=r.use_by_default,
                phone=r.phone_number,
                email=r.email,
                issuer=r.totp_issuer,
                account=user_email,
                codes_left=config_store.codes_left(conn, r.id)
                if kind == ProviderType.BACKUP_CODE
                else None,
            )
        )
    return AccountView(views)


def _platform_provider(
    settings: PlatformSettings | None, provider: ProviderType
) -> PlatformSettings:
    if settings is None or settings.provider(provider) is None:
        raise BadRequest("2FA provider is not configured")
    return settings


def _settings_of(conn: Connection, user: UserRecord, current: list[Any]) -> AccountView | None:
    """ThingsBoard answers an empty body (None) only for a user who never saved 2FA settings; once
    saved, they stay, with no configs after every method was removed."""
    if not current and not user.twofa_saved:
        return None
    return _view(conn, user.email, current)


def get_settings(c: Container, user_id: uuid.UUID) -> AccountView | None:
    with c.db.transaction() as conn:
        settings = platform_settings.load(conn)
        current = config_store.pruned_rows(conn, user_id, settings)
        user = user_rows.by_id(conn, user_id)
        return _settings_of(conn, user, current)


def provider_types(c: Container) -> list[str]:
    with c.db.read() as conn:
        settings = platform_settings.load(conn)
    return [p.value for p in settings.provider_types] if settings else []


def generate(c: Container, claims: Claims, provider: ProviderType) -> Generated:
    """A new config template; the secret parts stay server-side as the caller's pending state."""
    user_id = claims.user_id
    with c.db.transaction() as conn:
        owner = change_guard.begin_change(conn, claims)
        settings = _platform_provider(platform_settings.load(conn), provider)
        user = user_rows.by_id(conn, user_id)
        result, pending = REGISTRY[provider].generate(
            config_store.tools(c), user_id=user_id, email=user.email,
            settings=settings.provider(provider),  # type: ignore[arg-type]
        )
        if pending:
            _replace_pending(conn, user_id, provider, owner, pending)
    return result


def _replace_pending(
    conn: Connection, user_id: uuid.UUID, provider: ProviderType, owner: str, values: dict[str, Any]
) -> None:
    """The user's one pending enrollment of `provider` (a newer one replaces an older one, whoever
    started it). Safe under concurrency: the caller holds the user's credentials row."""
    conn.execute(
        delete(t.twofa_pending).where(
            t.twofa_pending.c.user_id == user_id,
            t.twofa_pending.c.provider_type == provider.value,
        )
    )
    conn.execute(
        t.twofa_pending.insert().values(
            user_id=user_id,
            provider_type=provider.value,
            created_time=now_ms(),
            owner=owner,
            **values,
        )
    )


def _validate_target(c: Container, body: Submitted) -> str:
    if body.type == ProviderType.SMS:
        if not body.phone or not body.phone.strip():
            raise BadRequest("Validation error: phoneNumber must not be blank")
        if not is_e164(body.phone):
            raise BadRequest("Validation error: phoneNumber is not of E.164 format")
        # Valid for its region and of an allowed type (no premium-rate, VoIP... numbers).
        if refused := sms_numbers.refusal(c, body.phone):
            raise BadRequest(f"Validation error: phoneNumber {refused}")
        return body.phone
    if not body.email or not body.email.strip():
        raise BadRequest("Validation error: email must not be blank")
    if not is_email(body.email):
        raise BadRequest("Validation error: email must be a well-formed email address")
    return body.email


def submit(c: Container, claims: Claims, body: Submitted, client: ClientSeen) -> None:
    """SMS/EMAIL: send a setup code to the given address. TOTP and BACKUP_CODE: nothing to do."""
    user_id = claims.user_id
    with c.db.read() as conn:
        settings = _platform_provider(platform_settings.load(conn), body.type)
        user = user_rows.by_id(conn, user_id)
    if body.type not in (ProviderType.SMS, ProviderType.EMAIL):
        return
    target = _validate_target(c, body)
    provider = settings.provider(body.type)
    if provider is None:  # _platform_provider checked it: kept for the type
        raise BadRequest("2FA provider is not configured")
    lifetime = provider.code_lifetime or 120
    code = codes.numeric_code()
    notices.send_code(
        c,
        user=user,
        provider=body.type,
        target=target,
        code=code,
        lifetime=lifetime,
        template=provider.sms_template,
        client=client,
    )
    # Stored only after the transport accepted the message: a failed send leaves nothing usable.
    with c.db.transaction() as conn:
        owner = change_guard.begin_change(conn, claims)
        _replace_pending(
            conn,
            user_id,
            body.type,
            owner,
            {
                "target": target,
                "code_hash": c.codes.hash(
                    code, scope=delivered_code.setup_scope(user_id, body.type, target)
                ),
                "code_expires_at": now_ms() + lifetime * 1000,
            },
        )


def verify_and_save(
    c: Container, claims: Claims, body: Submitted, code: str | None, client: ClientSeen
) -> AccountView:
    user_id = claims.user_id
    with c.db.read() as conn:
        settings = platform_settings.load(conn)
        current = config_store.rows(conn, user_id)
        user = user_rows.by_id(conn, user_id)
    if any(r.provider_type == body.type.value for r in current):
        raise BadRequest("2FA provider is already configured")
    if not user.enabled:
        raise AuthenticationFailed("User is disabled")
    settings = _platform_provider(settings, body.type)
    if body.type == ProviderType.SMS or body.type == ProviderType.EMAIL:
        _validate_target(c, body)
    if body.type != ProviderType.BACKUP_CODE and not c.limiter.hit(
        f"setup-verify:{user_id}:{body.type.value}",
        capacity=SETUP_ATTEMPTS,
        period_s=SETUP_WINDOW_S,
    ):
        raise TooManyRequests()
    with c.db.transaction() as conn:
        owner = change_guard.begin_change(conn, claims)
        current = config_store.pruned_rows(conn, user_id, settings)
        if any(r.provider_type == body.type.value for r in current):
            raise BadRequest("2FA provider is already configured")
        # Only what this sign-in started: another sign-in's pending state is not this one's to
        # confirm (a stolen session's enrollment, an attacker's configuration token).
        pending = conn.execute(
            select(t.twofa_pending).where(
                t.twofa_pending.c.user_id == user_id,
                t.twofa_pending.c.provider_type == body.type.value,
                t.twofa_pending.c.owner == owner,
            )
        ).first()
        values = _verified_values(c, user_id, body, code, pending)
        # Consume the pending state exactly once (concurrent verify-and-save calls: one wins).
        if pending is None:  # confirm_setup refused it already: kept for the type
            raise BadRequest(INCORRECT)
        consumed = conn.execute(
            delete(t.twofa_pending).where(
                t.twofa_pending.c.user_id == user_id,
                t.twofa_pending.c.provider_type == body.type.value,
                t.twofa_pending.c.created_time == pending.created_time,
            )
        ).rowcount
        if consumed != 1:
            raise BadRequest(INCORRECT)
        before = config_store.entries(current)
        position = config_store.next_position(conn, user_id)
        after = account.add(before, body.type, default=body.use_by_default, position=position)
        new_entry = next(e for e in after if e.type == body.type)
        config_store.apply(conn, user_id, before, [e for e in after if e.type != body.type])
        backup_hashes = values.pop("backup_code_hashes", None)
        config_id = uuid.uuid4()
        if "totp_secret" in values:
            values["totp_secret_enc"] = c.box.seal(
                values.pop("totp_secret"), context=totp.config_context(config_id)
            )
        config_store.insert_config(
            conn,
            user_id,
            body.type,
            position,
            id=config_id,
            use_by_default=new_entry.default,
            **values,
        )
        for digest in backup_hashes or []:
            conn.execute(
                t.backup_code.insert().values(
                    id=uuid.uuid4(), config_id=config_id, code_hash=digest
                )
            )
        conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == user_id)
            .values(twofa_saved=True)
        )
        change_guard.method_added(conn, claims)
        audit.record_user_event(
            conn, user, "CREDENTIALS_UPDATED", {"twoFa": f"{body.type.value} added"}
        )
        view = _view(conn, user.email, config_store.rows(conn, user_id))
    notices.changed(c, user, f"{_names[body.type]} added", client)
    return view


_names = {
    ProviderType.TOTP: "Authenticator app",
    ProviderType.SMS: "SMS authentication",
    ProviderType.EMAIL: "Email authentication",
    ProviderType.BACKUP_CODE: "Backup codes",
}


def _verified_values(
    c: Container, user_id: uuid.UUID, body: Submitted, code: str | None, pending: Any
) -> dict[str, Any]:
    """Check the submitted config against the server's pending state; the columns to store."""
    return REGISTRY[body.type].confirm_setup(
        config_store.tools(c), user_id=user_id, submitted=body, code=code, pending=pending
    )


def update_default(
    c: Container, claims: Claims, provider: ProviderType, use_by_default: bool
) -> AccountView:
    user_id = claims.user_id
    with c.db.transaction() as conn:
        change_guard.begin_change(conn, claims)
        settings = platform_settings.load(conn)
        current = config_store.pruned_rows(conn, user_id, settings)
        before = config_store.entries(current)
        after = account.set_default(before, provider, use_by_default)
        config_store.apply(conn, user_id, before, after)
        user = user_rows.by_id(conn, user_id)
        return _view(conn, user.email, config_store.rows(conn, user_id))


def delete_config(
    c: Container, claims: Claims, provider: ProviderType, client: ClientSeen
) -> AccountView:
    user_id = claims.user_id
    with c.db.transaction() as conn:
        change_guard.begin_change(conn, claims)
        settings = platform_settings.load(conn)
        current = config_store.pruned_rows(conn, user_id, settings)
        user = user_rows.by_id(conn, user_id)
        if not current and not user.twofa_saved:
            raise BadRequest("2FA not configured")
        before = config_store.entries(current)
        after = account.remove(before, provider)
        # Removing what is not there changes nothing and is no error (ThingsBoard: 200).
        if not after and platform_settings.is_enforced(conn, settings, user):
            raise BadRequest("At least one 2FA provider is required")
        config_store.apply(conn, user_id, before, after)
        removed = [e.type for e in before if e.type not in {a.type for a in after}]
        if removed:
            change_guard.methods_removed(conn, user_id)
            audit.record_user_event(
                conn,
                user,
                "CREDENTIALS_UPDATED",
                {"twoFa": ", ".join(r.value for r in removed) + " removed"},
            )
        view = _view(conn, user.email, config_store.rows(conn, user_id))
    for r in removed:
        notices.changed(c, user, f"{_names[r]} removed", client)
    return view


# -- administrators (beyond ThingsBoard CE: the routes of its open PR #14982) -------------------


def _check_admin_may_manage(principal: Principal, target: Any) -> None:
    """Sysadmin: anyone. Tenant admin: users of its own tenant, never a sysadmin."""
    if principal.authority == "SYS_ADMIN":
        return
    if (
        principal.authority == "TENANT_ADMIN"
        and target.authority != "SYS_ADMIN"
        and target.tenant_id == principal.tenant_id
    ):
        return
    raise PermissionDenied()


def _target(conn: Connection, user_id: uuid.UUID) -> Any:
    row = user_rows.by_id(conn, user_id)
    if row is None:
        raise NotFound(f"User with id [{user_id}] is not found")
    return row


def admin_get(c: Container, principal: Principal, user_id: uuid.UUID) -> AccountView | None:
    with c.db.transaction() as conn:
        target = _target(conn, user_id)
        _check_admin_may_manage(principal, target)
        current = config_store.pruned_rows(conn, user_id, platform_settings.load(conn))
        return _settings_of(conn, target, current)


def admin_reset(
    c: Container, principal: Principal, user_id: uuid.UUID, provider: ProviderType, client: ClientSeen
) -> AccountView:
    with c.db.transaction() as conn:
        target = _target(conn, user_id)
        _check_admin_may_manage(principal, target)
        tokens.lock_credentials(conn, user_id)  # enabled or not: a locked user may be reset
        current = config_store.pruned_rows(conn, user_id, platform_settings.load(conn))
        if not current and not target.twofa_saved:
            raise BadRequest("2FA not configured")
        before = config_store.entries(current)
        after = account.remove(before, provider)  # no enforcement check: an admin may empty it
        config_store.apply(conn, user_id, before, after)
        change_guard.methods_removed(conn, user_id)
        if not after:
            c.tokens.revoke_user(conn, user_id)
        actor = audit.Actor(
            principal.user_id, principal.email, principal.tenant_id, principal.customer_id
        )
        audit.record(
            conn,
            actor,
            "CREDENTIALS_UPDATED",
            entity_type="USER",
            entity_id=target.id,
            entity_name=target.email,
            data={"twoFaReset": provider.value, "clientAddress": client.address},
        )
        view = _view(conn, target.email, config_store.rows(conn, user_id))
    notices.changed(c, target, f"{_names[provider]} reset by an administrator", client)
    return view
