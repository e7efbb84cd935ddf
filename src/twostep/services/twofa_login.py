"""The login second step: restricted tokens, provider list, send, check, lockout.

Hardened against ThingsBoard (§3.11, §8): the attempt is counted before the code is checked and the
2FA failure count is its own (a correct password, a new login or a resend never resets it); every
code is consumed by one conditional write; the pre-verification token is bound to one login attempt
and dies on success, lockout and expiry.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from twostep.bootstrap import Container
from twostep.domain.authority import Authority
from twostep.domain.errors import AuthenticationFailed, BadRequest, TooManyRequests
from twostep.domain.ids import now_ms
from twostep.domain.twofa import codes
from twostep.domain.twofa.masking import mask_email, mask_phone
from twostep.domain.twofa.platform import PlatformSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers import REGISTRY, delivered_code
from twostep.services import (
    audit,
    settings_store,
    twofa_notify,
    twofa_settings,
    twofa_store,
    users_repo,
)
from twostep.services.audit import login_data
from twostep.storage import tables as t

log = logging.getLogger("twostep.twofa")

INCORRECT = "Verification code is incorrect"
LOCKED = "User account was locked due to exceeded 2FA verification attempts"
DISABLED = "User is disabled"
NOT_CONFIGURED_FOR_ACCOUNT = "2FA is not configured for account"
NOT_CONFIGURED = "2FA provider is not configured"


@dataclass(frozen=True)
class ProviderInfo:
    type: ProviderType
    default: bool
    contact: str | None
    min_send_period: int


# -- after the password -------------------------------------------------------------------------


def is_enforced(conn: Connection, settings: PlatformSettings | None, user: Any) -> bool:
    if settings is None or not settings.enforce or settings.users_filter is None:
        return False
    profile_id = None
    if settings.users_filter.tenant_profile_ids:
        profile_id = conn.execute(
            select(t.tenant.c.tenant_profile_id).where(t.tenant.c.id == user.tenant_id)
        ).scalar()
    return settings.users_filter.matches(
        authority=user.authority, tenant_id=user.tenant_id, tenant_profile_id=profile_id
    )


def _restricted(
    c: Container,
    conn: Connection,
    user: Any,
    scope: Authority,
    settings: PlatformSettings | None,
    client: Any,
) -> dict[str, Any]:
    now = now_ms()
    ttl = settings.token_lifetime if settings else 1800
    attempt_id = uuid.uuid4()
    conn.execute(
        t.login_attempt.insert().values(
            id=attempt_id,
            user_id=user.id,
            scope=scope.value,
            created_time=now,
            expires_at=now + ttl * 1000,
            state="ACTIVE",
            client_address=client.address,
            user_agent=(client.user_agent or "")[:512],
            failures=0,
            notified=False,
        )
    )
    token = c.tokens.issue_restricted(
        users_repo.identity(user), scope, jti=attempt_id, issued_ms=now, ttl=ttl
    )
    return {"token": token, "scope": scope.value, "refreshToken": None}


def after_password(c: Container, user: Any, client: Any) -> dict[str, Any]:
    """PRE_VERIFICATION_TOKEN for users with 2FA, MFA_CONFIGURATION_TOKEN under enforcement,
    otherwise the normal pair."""
    from twostep.services.auth import full_login

    with c.db.transaction() as conn:
        settings = twofa_settings.load(conn)
        configs = twofa_store.pruned_rows(conn, user.id, settings)
        if configs:
            return _restricted(c, conn, user, Authority.PRE_VERIFICATION_TOKEN, settings, client)
        if is_enforced(conn, settings, user):
            return _restricted(c, conn, user, Authority.MFA_CONFIGURATION_TOKEN, settings, client)
    return full_login(c, user, client)


def after_activation(c: Container, user: Any, client: Any) -> dict[str, Any]:
    from twostep.services.auth import full_login

    with c.db.transaction() as conn:
        settings = twofa_settings.load(conn)
        if is_enforced(conn, settings, user):
            audit.record_user_event(
                conn, user, "LOGIN", login_data(client.address, client.user_agent)
            )
            return _restricted(c, conn, user, Authority.MFA_CONFIGURATION_TOKEN, settings, client)
    return full_login(c, user, client)


def config_login(c: Container, principal: Any, client: Any) -> dict[str, str]:
    """POST /api/auth/2fa/login: the configuration token becomes a full pair once 2FA is set up."""
    from twostep.services.auth import full_login

    with c.db.transaction() as conn:
        user = users_repo.by_id(conn, principal.user_id)
        configs = twofa_store.pruned_rows(conn, user.id, twofa_settings.load(conn))
        if not configs:
            audit.record_user_event(
                conn,
                user,
                "LOGIN",
                login_data(client.address, client.user_agent),
                failure="2FA is not configured",
            )
            raise_after = True
        else:
            raise_after = False
            used = conn.execute(
                update(t.login_attempt)
                .where(
                    t.login_attempt.c.id == principal.claims.jti,
                    t.login_attempt.c.state == "ACTIVE",
                )
                .values(state="VERIFIED")
            ).rowcount
            if used != 1:
                raise AuthenticationFailed("Token has expired")
    if raise_after:
        raise BadRequest("2FA is not configured")
    return full_login(c, user, client)


# -- the second step ------------------------------------------------------------------------------


def providers(c: Container, user_id: uuid.UUID) -> list[ProviderInfo]:
    settings, rows, _ = _context(c, user_id)
    period = settings.min_send_period if settings else 30
    result = []
    for r in rows:
        kind = ProviderType(r.provider_type)
        contact = (
            mask_phone(r.phone_number)
            if kind == ProviderType.SMS and r.phone_number
            else (mask_email(r.email) if kind == ProviderType.EMAIL and r.email else None)
        )
        result.append(ProviderInfo(kind, r.use_by_default, contact, period))
    return result


def _context(c: Container, user_id: uuid.UUID) -> tuple[PlatformSettings | None, list[Any], Any]:
    """Platform settings, the user's (pruned) configs and the user, read without a write lock;
    a write happens only in the rare case that pruning changes something."""
    with c.db.read() as conn:
        settings = twofa_settings.load(conn)
        rows = twofa_store.rows(conn, user_id)
        user = users_repo.by_id(conn, user_id)
    if twofa_store.needs_pruning(rows, settings):
        with c.db.transaction() as conn:
            rows = twofa_store.pruned_rows(conn, user_id, settings)
    return settings, rows, user


def _find(rows: list[Any], provider: ProviderType) -> Any:
    return next((r for r in rows if r.provider_type == provider.value), None)


def _bucket(kind: str, user_id: uuid.UUID, provider: ProviderType) -> str:
    return f"2fa-{kind}:{user_id}:{provider.value}"


def _check_bucket(user_id: uuid.UUID, provider: ProviderType, settings: PlatformSettings) -> str:
    # The limit is part of the key: a changed limit starts a new bucket, as ThingsBoard rebuilds it.
    return _bucket("check", user_id, provider) + f":{settings.check_rate_limit}"


def _clear_buckets(c: Container, user_id: uuid.UUID, settings: PlatformSettings) -> None:
    """ThingsBoard clears the user's send and check buckets on success and on lockout. Send
    buckets exist only for providers that send; check buckets only while a check limit is set."""
    keys = [_bucket("send", user_id, p) for p in (ProviderType.SMS, ProviderType.EMAIL)]
    if settings.check_rate_limit:
        keys += [_check_bucket(user_id, p, settings) for p in ProviderType]
    c.limiter.clear(keys)


def send(c: Container, principal: Any, provider: ProviderType, client: Any) -> None:
    user_id = principal.user_id
    settings, rows, user = _context(c, user_id)
    config = _find(rows, provider)
    if config is None:
        raise BadRequest(NOT_CONFIGURED_FOR_ACCOUNT)
    if settings is None:
        raise BadRequest(NOT_CONFIGURED)
    if not c.limiter.hit(
        _bucket("send", user_id, provider), capacity=1, period_s=settings.min_send_period
    ):
        raise TooManyRequests()
    provider_settings = settings.provider(provider)
    if provider_settings is None:
        raise BadRequest(NOT_CONFIGURED)
    if provider not in (ProviderType.SMS, ProviderType.EMAIL):
        return
    target = config.phone_number if provider == ProviderType.SMS else config.email
    lifetime = provider_settings.code_lifetime or 120
    code = codes.numeric_code()
    twofa_notify.send_code(
        c,
        user=user,
        provider=provider,
        target=target,
        code=code,
        lifetime=lifetime,
        template=provider_settings.sms_template,
        client=client,
    )
    # Bound to this login attempt, this provider and this destination; replaces an older code.
    with c.db.transaction() as conn:
        conn.execute(
            update(t.login_attempt)
            .where(
                t.login_attempt.c.id == principal.claims.jti, t.login_attempt.c.state == "ACTIVE"
            )
            .values(
                code_provider=provider.value,
                code_target=target,
                code_hash=_login_code_hash(c, principal.claims.jti, provider, target, code),
                code_expires_at=now_ms() + lifetime * 1000,
            )
        )


def _login_code_hash(
    c: Container, attempt_id: uuid.UUID, provider: ProviderType, target: str, code: str
) -> str:
    return c.codes.hash(code, scope=delivered_code.login_scope(attempt_id, provider, target))


def check(
    c: Container, principal: Any, provider: ProviderType, code: str | None, client: Any
) -> dict[str, str]:
    user_id = principal.user_id
    attempt_id = principal.claims.jti
    settings, rows, user = _context(c, user_id)
    config = _find(rows, provider)
    if config is None:
        raise BadRequest(NOT_CONFIGURED_FOR_ACCOUNT)
    if user is None or not user.enabled:
        raise AuthenticationFailed(DISABLED)
    if settings is None:
        raise BadRequest(NOT_CONFIGURED)
    limit = settings.check_limit()
    if limit and not c.limiter.hit(
        _check_bucket(user_id, provider, settings), capacity=limit[0], period_s=limit[1]
    ):
        raise TooManyRequests()
    if settings.provider(provider) is None:
        raise BadRequest(NOT_CONFIGURED)

    # One transaction decides: the attempt is counted first (the UPDATE also locks the user's
    # credentials row, so parallel checks of one user queue here and each sees the count of those
    # before it), then the code is checked and consumed. A wrong code commits the count.
    now = now_ms()
    pair: dict[str, str] | None = None
    with c.db.transaction() as conn:
        count = _charge(conn, user_id, attempt_id)
        if count is not None and count <= settings.max_failures:
            spec = REGISTRY[provider].login_consume(
                twofa_store.tools(c), user_id=user_id, config=config, code=code, attempt_id=attempt_id
            )
            if spec is not None and _complete(conn, spec, attempt_id, now):
                conn.execute(
                    update(t.user_credentials)
                    .where(t.user_credentials.c.user_id == user_id)
                    .values(twofa_failed_attempts=0, last_login_ts=now)
                )
                pair = c.tokens.issue_pair(users_repo.identity(user), conn=conn)
            audit.record_user_event(
                conn,
                user,
                "LOGIN",
                login_data(client.address, client.user_agent, provider=provider.value),
                failure=None if pair else INCORRECT,
            )
    if count is None:
        raise AuthenticationFailed(DISABLED)
    if pair is not None:
        # The login is complete and committed: clearing the buckets is a courtesy that must not
        # turn a success into an error when Redis or the database hiccups right now.
        try:
            _clear_buckets(c, user_id, settings)
        except Exception:
            log.warning("rate-limit buckets were not cleared after a successful check")
        if provider == ProviderType.BACKUP_CODE:
            _notify_backup_code_used(c, user, config, client)
        return pair
    if count >= settings.max_failures:
        # This failure used the last allowed attempt (or another request already had): lock.
        _lock(c, user, settings, client)
        raise AuthenticationFailed(LOCKED)
    _notify_once(c, user, attempt_id, client, "a wrong verification code was entered")
    raise BadRequest(INCORRECT)


def _charge(conn: Connection, user_id: uuid.UUID, attempt_id: uuid.UUID) -> int | None:
    """Count one 2FA attempt; None when the credentials are disabled (locked)."""
    count = conn.execute(
        update(t.user_credentials)
        .where(t.user_credentials.c.user_id == user_id, t.user_credentials.c.enabled.is_(True))
        .values(twofa_failed_attempts=t.user_credentials.c.twofa_failed_attempts + 1)
        .returning(t.user_credentials.c.twofa_failed_attempts)
    ).scalar()
    conn.execute(
        update(t.login_attempt)
        .where(t.login_attempt.c.id == attempt_id)
        .values(failures=t.login_attempt.c.failures + 1)
    )
    return count  # type: ignore[no-any-return]


def _complete(conn: Connection, spec: Any, attempt_id: uuid.UUID, now: int) -> bool:
    """Finish the login attempt and consume the code, each exactly once, or neither."""
    la = t.login_attempt.c
    finished = conn.execute(
        update(t.login_attempt).where(la.id == attempt_id, la.state == "ACTIVE").values(state="VERIFIED")
    ).rowcount
    if finished != 1:
        return False
    if twofa_store.consume(conn, spec, now):
        return True
    # The code was already used: the attempt stays open (its row is ours until commit).
    conn.execute(update(t.login_attempt).where(la.id == attempt_id).values(state="ACTIVE"))
    return False


def _notify_backup_code_used(c: Container, user: Any, config: Any, client: Any) -> None:
    """A backup code is a recovery secret: its use is worth telling the owner about."""
    with c.db.read() as conn:
        left = twofa_store.codes_left(conn, config.id)
    twofa_notify.changed(c, user, f"a backup code was used to sign in ({left} left)", client)


def _lock(c: Container, user: Any, settings: PlatformSettings, client: Any) -> None:
    with c.db.transaction() as conn:
        locked_now = conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == user.id, t.user_credentials.c.enabled.is_(True))
            .values(enabled=False)
        ).rowcount
        conn.execute(
            update(t.login_attempt)
            .where(t.login_attempt.c.user_id == user.id, t.login_attempt.c.state == "ACTIVE")
            .values(state="LOCKED")
        )
        if locked_now:
            c.tokens.revoke_user(conn, user.id)
            audit.record_user_event(
                conn, user, "LOCKOUT", login_data(client.address, client.user_agent)
            )
        admin_address = settings_store.security_settings(conn).get("userLockoutNotificationEmail")
    _clear_buckets(c, user.id, settings)
    if locked_now:
        twofa_notify.lockout(
            c, user, max_attempts=settings.max_failures, admin_address=admin_address
        )


def _notify_once(c: Container, user: Any, attempt_id: uuid.UUID, client: Any, reason: str) -> None:
    with c.db.transaction() as conn:
        if not settings_store.security_settings(conn).get("notifyOnFailedSecondFactor", True):
            return
        first = conn.execute(
            update(t.login_attempt)
            .where(t.login_attempt.c.id == attempt_id, t.login_attempt.c.notified.is_(False))
            .values(notified=True)
        ).rowcount
    if first:
        twofa_notify.failed_second_step(
            c, user, client_address=client.address, user_agent=client.user_agent, reason=reason
        )
