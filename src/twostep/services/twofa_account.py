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

from sqlalchemy import Connection, delete, select

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
from twostep.services import audit, twofa_notify, twofa_settings, twofa_store, users_repo
from twostep.services import twofa_pending  # upserts: parallel enrollment calls never collide
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
                codes_left=twofa_store.codes_left(conn, r.id)
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


def get_settings(c: Container, user_id: uuid.UUID) -> AccountView | None:
    with c.db.transaction() as conn:
        settings = twofa_settings.load(conn)
        current = twofa_store.pruned_rows(conn, user_id, settings)
        user = users_repo.by_id(conn, user_id)
        # ThingsBoard answers an empty body when the user has no 2FA settings.
        return _view(conn, user.email, current) if current else None


def provider_types(c: Container) -> list[str]:
    with c.db.read() as conn:
        settings = twofa_settings.load(conn)
    return [p.value for p in settings.provider_types] if settings else []


def generate(c: Container, user_id: uuid.UUID, provider: ProviderType) -> Generated:
    """A new config template; the secret parts stay server-side as the pending state."""
    with c.db.transaction() as conn:
        settings = _platform_provider(twofa_settings.load(conn), provider)
        user = users_repo.by_id(conn, user_id)
        result, pending = REGISTRY[provider].generate(
            twofa_store.tools(c), user_id=user_id, email=user.email,
            settings=settings.provider(provider),  # type: ignore[arg-type]
        )
        if pending:
            twofa_pending.replace(conn, user_id, provider.value, **pending)
    return result


def _validate_target(body: Submitted) -> str:
    if body.type == ProviderType.SMS:
        if not body.phone or not body.phone.strip():
            raise BadRequest("Validation error: phoneNumber must not be blank")
        if not is_e164(body.phone):
            raise BadRequest("Validation error: phoneNumber is not of E.164 format")
        return body.phone
    if not body.email or not body.email.strip():
        raise BadRequest("Validation error: email must not be blank")
    if not is_email(body.email):
        raise BadRequest("Validation error: email must be a well-formed email address")
    return body.email


def submit(c: Container, user_id: uuid.UUID, body: Submitted, client: Any) -> None:
    """SMS/EMAIL: send a setup code to the given address. TOTP and BACKUP_CODE: nothing to do."""
    with c.db.read() as conn:
        settings = _platform_provider(twofa_settings.load(conn), body.type)
        user = users_repo.by_id(conn, user_id)
    if body.type not in (ProviderType.SMS, ProviderType.EMAIL):
        return
    target = _validate_target(body)
    provider = settings.provider(body.type)
    lifetime = provider.code_lifetime or 120  # type: ignore[union-attr]
    code = codes.numeric_code()
    twofa_notify.send_code(
        c,
        user=user,
        provider=body.type,
        target=target,
        code=code,
        lifetime=lifetime,
        template=provider.sms_template,
        client=client,  # type: ignore[union-attr]
    )
    # Stored only after the transport accepted the message: a failed send leaves nothing usable.
    with c.db.transaction() as conn:
        twofa_pending.replace(
            conn,
            user_id,
            body.type.value,
            target=target,
            code_hash=c.codes.hash(code, scope=delivered_code.setup_scope(user_id, body.type, target)),
            code_expires_at=now_ms() + lifetime * 1000,
        )




def verify_and_save(
    c: Container, user_id: uuid.UUID, body: Submitted, code: str | None, client: Any
) -> AccountView:
    with c.db.read() as conn:
        settings = twofa_settings.load(conn)
        current = twofa_store.rows(conn, user_id)
        user = users_repo.by_id(conn, user_id)
    if any(r.provider_type == body.type.value for r in current):
        raise BadRequest("2FA provider is already configured")
    if not user.enabled:
        raise AuthenticationFailed("User is disabled")
    settings = _platform_provider(settings, body.type)
    if body.type == ProviderType.SMS or body.type == ProviderType.EMAIL:
        _validate_target(body)
    if body.type != ProviderType.BACKUP_CODE and not c.limiter.hit(
        f"setup-verify:{user_id}:{body.type.value}",
        capacity=SETUP_ATTEMPTS,
        period_s=SETUP_WINDOW_S,
    ):
        raise TooManyRequests()
    with c.db.transaction() as conn:
        current = twofa_store.pruned_rows(conn, user_id, settings)
        pending = conn.execute(
            select(t.twofa_pending).where(
                t.twofa_pending.c.user_id == user_id,
                t.twofa_pending.c.provider_type == body.type.value,
            )
        ).first()
        values = _verified_values(c, user_id, body, code, pending)
        # Consume the pending state exactly once (concurrent verify-and-save calls: one wins).
        consumed = conn.execute(
            delete(t.twofa_pending).where(
                t.twofa_pending.c.user_id == user_id,
                t.twofa_pending.c.provider_type == body.type.value,
                t.twofa_pending.c.created_time == pending.created_time,
            )
        ).rowcount
        if consumed != 1:
            raise BadRequest(INCORRECT)
        before = twofa_store.entries(current)
        position = twofa_store.next_position(conn, user_id)
        after = account.add(before, body.type, default=body.use_by_default, position=position)
        new_entry = next(e for e in after if e.type == body.type)
        twofa_store.apply(conn, user_id, before, [e for e in after if e.type != body.type])
        backup_hashes = values.pop("backup_code_hashes", None)
        config_id = uuid.uuid4()
        if "totp_secret" in values:
            values["totp_secret_enc"] = c.box.seal(
                values.pop("totp_secret"), context=totp.config_context(config_id)
            )
        twofa_store.insert_config(
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
        audit.record_user_event(
            conn, user, "CREDENTIALS_UPDATED", {"twoFa": f"{body.type.value} added"}
        )
        view = _view(conn, user.email, twofa_store.rows(conn, user_id))
    twofa_notify.changed(c, user, f"{_names[body.type]} added", client)
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
        twofa_store.tools(c), user_id=user_id, submitted=body, code=code, pending=pending
    )


def update_default(
    c: Container, user_id: uuid.UUID, provider: ProviderType, use_by_default: bool
) -> AccountView:
    with c.db.transaction() as conn:
        settings = twofa_settings.load(conn)
        current = twofa_store.pruned_rows(conn, user_id, settings)
        before = twofa_store.entries(current)
        after = account.set_default(before, provider, use_by_default)
        twofa_store.apply(conn, user_id, before, after)
        user = users_repo.by_id(conn, user_id)
        return _view(conn, user.email, twofa_store.rows(conn, user_id))


def delete_config(
    c: Container, user_id: uuid.UUID, provider: ProviderType, client: Any
) -> AccountView:
    from twostep.services.twofa_login import is_enforced

    with c.db.transaction() as conn:
        settings = twofa_settings.load(conn)
        current = twofa_store.pruned_rows(conn, user_id, settings)
        user = users_repo.by_id(conn, user_id)
        if not current:
            raise BadRequest("2FA not configured")
        before = twofa_store.entries(current)
        after = account.remove(before, provider)
        if not after and is_enforced(conn, settings, user):
            raise BadRequest("At least one 2FA provider is required")
        twofa_store.apply(conn, user_id, before, after)
        removed = [e.type for e in before if e.type not in {a.type for a in after}]
        if removed:
            audit.record_user_event(
                conn,
                user,
                "CREDENTIALS_UPDATED",
                {"twoFa": ", ".join(r.value for r in removed) + " removed"},
            )
        view = _view(conn, user.email, twofa_store.rows(conn, user_id))
    for r in removed:
        twofa_notify.changed(c, user, f"{_names[r]} removed", client)
    return view


# -- administrators (beyond ThingsBoard CE: the routes of its open PR #14982) -------------------


def _check_admin_may_manage(principal: Any, target: Any) -> None:
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
    row = users_repo.by_id(conn, user_id)
    if row is None:
        raise NotFound(f"User with id [{user_id}] is not found")
    return row


def admin_get(c: Container, principal: Any, user_id: uuid.UUID) -> AccountView | None:
    with c.db.transaction() as conn:
        target = _target(conn, user_id)
        _check_admin_may_manage(principal, target)
        current = twofa_store.pruned_rows(conn, user_id, twofa_settings.load(conn))
        return _view(conn, target.email, current) if current else None


def admin_reset(
    c: Container, principal: Any, user_id: uuid.UUID, provider: ProviderType, client: Any
) -> AccountView:
    with c.db.transaction() as conn:
        target = _target(conn, user_id)
        _check_admin_may_manage(principal, target)
        current = twofa_store.pruned_rows(conn, user_id, twofa_settings.load(conn))
        if not current:
            raise BadRequest("2FA not configured")
        before = twofa_store.entries(current)
        after = account.remove(before, provider)  # no enforcement check: an admin may empty it
        twofa_store.apply(conn, user_id, before, after)
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
        view = _view(conn, target.email, twofa_store.rows(conn, user_id))
    twofa_notify.changed(c, target, f"{_names[provider]} reset by an administrator", client)
    return view
