"""The login second step: restricted tokens, provider list, send, check, lockout.

Hardened against ThingsBoard (§3.11, §8): the attempt is counted before the code decides and the
2FA failure count is its own (a correct password, a new login or a resend never resets it); every
code is consumed by one conditional write; the pre-verification token is bound to one login attempt
and dies on success, lockout and expiry.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from twostep.bootstrap import Container
from twostep.domain.errors import AuthenticationFailed, BadRequest, TokenExpired, TooManyRequests
from twostep.domain.ids import now_ms
from twostep.domain.twofa import codes
from twostep.domain.twofa.masking import mask_email, mask_phone
from twostep.domain.twofa.platform import PlatformSettings
from twostep.domain.twofa.providers import ProviderType
from twostep.providers import REGISTRY, delivered_code
from twostep.services.notifications import notices
from twostep.services.records import audit, stored_settings, user_rows
from twostep.services.records.audit import login_data
from twostep.services.sessions import issuing
from twostep.services.twofa import attempts, config_store, platform_settings
from twostep.services.values import Claims, ClientSeen, Principal, StoredConfig, UserRecord
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


# -- the configuration login ---------------------------------------------------------------------

# Only the attempt that set up the user's first method(s), only while it is live, and only once.
_FINISH_ENROLLING = (
    update(t.login_attempt)
    .where(
        t.login_attempt.c.id == bindparam("b_attempt"),
        t.login_attempt.c.state == "ACTIVE",
        t.login_attempt.c.enrolled.is_(True),
        t.login_attempt.c.expires_at > bindparam("b_now"),
    )
    .values(state="VERIFIED")
)


def config_login(c: Container, principal: Principal, client: ClientSeen) -> dict[str, str]:
    """POST /api/auth/2fa/login: the configuration token that set up 2FA becomes a full pair."""
    with c.db.transaction() as conn:
        if not issuing.confirm_enabled(conn, principal.user_id):
            raise AuthenticationFailed(DISABLED)
        user = user_rows.by_id(conn, principal.user_id)
        configs = config_store.pruned_rows(conn, user.id, platform_settings.load(conn))
        if configs:
            done = conn.execute(
                _FINISH_ENROLLING, {"b_attempt": principal.claims.jti, "b_now": now_ms()}
            ).rowcount
            if done != 1:
                raise TokenExpired()
            return issuing.issue_full(c, conn, user, client)
        audit.record_user_event(
            conn,
            user,
            "LOGIN",
            login_data(client.address, client.user_agent),
            failure="2FA is not configured",
        )
    raise BadRequest("2FA is not configured")


# -- the second step ------------------------------------------------------------------------------


def providers(c: Container, principal: Principal) -> list[ProviderInfo]:
    settings, rows, _ = _context(c, principal.claims)
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


# The token's login attempt, the platform 2FA settings, the user and their configs: one statement
# (one row per config, or one row with NULL config columns).
_CONTEXT = (
    select(
        *attempts.LIVENESS_COLUMNS,
        stored_settings.value_of(platform_settings.KEY).label("twofa_settings"),
        *user_rows.SIGN_IN_COLUMNS,
        *config_store.JOINED_COLUMNS,
    )
    .select_from(
        t.login_attempt.join(
            user_rows.CREDENTIALS_JOIN, t.user.c.id == t.login_attempt.c.user_id
        ).outerjoin(t.twofa_config, t.twofa_config.c.user_id == t.user.c.id)
    )
    .where(attempts.OF_TOKEN)
    .order_by(config_store.CONFIG_ORDER)
)


def _context(c: Container, claims: Claims) -> tuple[PlatformSettings | None, list[Any], Any]:
    """For a pre-verification token: its login attempt, which must be live (TokenExpired
    otherwise), the platform settings, the user and their (pruned) configs. Read without a write
    lock; a write happens only in the rare case that pruning changes something."""
    with c.db.read() as conn:
        found = conn.execute(_CONTEXT, attempts.token_params(claims)).all()
    user = found[0] if found else None
    if user is None or not attempts.is_live(user, claims):
        if user is not None and attempts.ended_by_lockout(user, claims) and not user.enabled:
            # ThingsBoard's answer once the account is locked: its UI goes back to the login page.
            raise AuthenticationFailed(DISABLED)
        raise TokenExpired()
    settings = platform_settings.from_value(user.twofa_settings)
    rows = config_store.joined_rows(found)
    return settings, pruned(c, claims.user_id, rows, settings), user


def pruned(
    c: Container, user_id: uuid.UUID, rows: list[Any], settings: PlatformSettings | None
) -> list[Any]:
    """`rows` (a user's configs) as pruning leaves them; the write happens only when it changes
    something (a provider the platform no longer offers, a backup code left alone)."""
    if config_store.needs_pruning(rows, settings):
        with c.db.transaction() as conn:
            return config_store.pruned_rows(conn, user_id, settings)
    return rows


def _find(rows: list[Any], provider: ProviderType) -> Any:
    return next((r for r in rows if r.provider_type == provider.value), None)


def _send_bucket(user_id: uuid.UUID, provider: ProviderType) -> str:
    return f"2fa-send:{user_id}:{provider.value}"


def _check_bucket(user_id: uuid.UUID, settings: PlatformSettings) -> str:
    # One bucket per user across providers (ThingsBoard keeps one per provider, which gives a
    # user with three methods three times the guesses). The limit is part of the key: a changed
    # limit starts a new bucket, as ThingsBoard rebuilds it.
    return f"2fa-check:{user_id}:{settings.check_rate_limit}"


def _clear_buckets(
    c: Container, user_id: uuid.UUID, settings: PlatformSettings, conn: Connection | None = None
) -> None:
    """ThingsBoard clears the user's send and check buckets on success and on lockout. Send
    buckets exist only for providers that send; check buckets only while a check limit is set."""
    keys = [_send_bucket(user_id, p) for p in (ProviderType.SMS, ProviderType.EMAIL)]
    if settings.check_rate_limit:
        keys.append(_check_bucket(user_id, settings))
    c.limiter.clear(keys, conn=conn)


def _attempt_of(principal: Principal) -> uuid.UUID:
    """The login attempt a pre-verification token names (web.deps lets no other token here)."""
    if principal.claims.jti is None:
        raise TokenExpired()
    return principal.claims.jti


def _method_of(
    c: Container, principal: Principal, provider: ProviderType
) -> tuple[uuid.UUID, PlatformSettings | None, Any, Any]:
    """The attempt, the platform settings, the user's config of `provider` and the user, for a
    send or a check (BadRequest when the user has no such method)."""
    attempt_id = _attempt_of(principal)
    settings, rows, user = _context(c, principal.claims)
    config = _find(rows, provider)
    if config is None:
        raise BadRequest(NOT_CONFIGURED_FOR_ACCOUNT)
    return attempt_id, settings, config, user


def send(c: Container, principal: Principal, provider: ProviderType, client: ClientSeen) -> None:
    user_id = principal.user_id
    attempt_id, settings, config, user = _method_of(c, principal, provider)
    if settings is None:
        raise BadRequest(NOT_CONFIGURED)
    if not c.limiter.hit(
        _send_bucket(user_id, provider), capacity=1, period_s=settings.min_send_period
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
    notices.send_code(
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
                t.login_attempt.c.id == attempt_id, t.login_attempt.c.state == "ACTIVE"
            )
            .values(
                code_provider=provider.value,
                code_target=target,
                code_hash=_login_code_hash(c, attempt_id, provider, target, code),
                code_expires_at=now_ms() + lifetime * 1000,
            )
        )


def _login_code_hash(
    c: Container, attempt_id: uuid.UUID, provider: ProviderType, target: str, code: str
) -> str:
    return c.codes.hash(code, scope=delivered_code.login_scope(attempt_id, provider, target))


_uc = t.user_credentials.c
_la = t.login_attempt.c
# Count one 2FA attempt; no row (None) when the credentials are disabled (locked).
_CHARGE = (
    update(t.user_credentials)
    .where(_uc.user_id == bindparam("b_user"), _uc.enabled.is_(True))
    .values(twofa_failed_attempts=_uc.twofa_failed_attempts + 1)
    .returning(_uc.twofa_failed_attempts)
)
_ATTEMPT_FAILED = (
    update(t.login_attempt)
    .where(_la.id == bindparam("b_attempt"))
    .values(failures=_la.failures + 1)
)
# Only a live attempt can be finished, and only once.
_FINISH_ATTEMPT = (
    update(t.login_attempt)
    .where(
        _la.id == bindparam("b_attempt"),
        _la.state == "ACTIVE",
        _la.expires_at > bindparam("b_now"),
    )
    .values(state="VERIFIED", failures=_la.failures + 1)
)
_SUCCEEDED = (
    update(t.user_credentials)
    .where(_uc.user_id == bindparam("b_user"))
    .values(twofa_failed_attempts=0, last_login_ts=bindparam("b_now"))
)


class _AttemptDecided(Exception):
    """Another request finished or closed this login attempt first."""


def check(
    c: Container, principal: Principal, provider: ProviderType, code: str | None, client: ClientSeen
) -> dict[str, str]:
    user_id = principal.user_id
    attempt_id, settings, config, user = _method_of(c, principal, provider)
    if not user.enabled:
        raise AuthenticationFailed(DISABLED)
    if settings is None:
        raise BadRequest(NOT_CONFIGURED)
    if settings.provider(provider) is None:
        raise BadRequest(NOT_CONFIGURED)
    limit = settings.check_limit()

    # The pure work first (is the code right for this factor? the signed pair it would earn, the
    # audit details): nothing of it is acted on or revealed unless the transaction below counts
    # the attempt within the limit, and the transaction holds its locks only for its statements.
    spec = REGISTRY[provider].login_consume(
        config_store.tools(c), user_id=user_id, config=config, code=code, attempt_id=attempt_id
    )
    prepared = (
        c.tokens.prepare_pair(user_rows.identity(user), client=client) if spec is not None else None
    )
    details = login_data(client.address, client.user_agent, provider=provider.value)

    # One transaction decides: the check rate limit (counted in this transaction when the
    # counters live in the database), then the attempt is counted (the UPDATE also locks the
    # user's credentials row, so parallel checks of one user queue here and each sees the count of
    # those before it), then the code is consumed. A wrong code commits the count.
    now = now_ms()
    pair: dict[str, str] | None = None
    locked: _Locked | None = None
    try:
        with c.db.transaction() as conn:
            if limit and not c.limiter.hit(
                _check_bucket(user_id, settings),
                capacity=limit[0],
                period_s=limit[1],
                conn=conn,
            ):
                raise TooManyRequests()
            count = conn.execute(_CHARGE, {"b_user": user_id}).scalar()
            if count is not None and count <= settings.max_failures:
                if spec is not None and prepared is not None and config_store.consume(conn, spec, now):
                    # The code is used only together with the attempt it completes: if another
                    # request finished or closed the attempt meanwhile, both writes roll back.
                    finished = conn.execute(_FINISH_ATTEMPT, {"b_attempt": attempt_id, "b_now": now})
                    if finished.rowcount != 1:
                        raise _AttemptDecided()
                    conn.execute(_SUCCEEDED, {"b_user": user_id, "b_now": now})
                    c.tokens.store(conn, prepared)
                    pair = prepared.tokens
                    if c.limiter.in_database:
                        _clear_buckets(c, user_id, settings, conn=conn)
                else:
                    conn.execute(_ATTEMPT_FAILED, {"b_attempt": attempt_id})
                audit.record_user_event(
                    conn, user, "LOGIN", details, failure=None if pair else INCORRECT
                )
            if count is not None and pair is None and count >= settings.max_failures:
                # This failure used the last allowed attempt: the lock commits with the count,
                # so no request of this user can slip in between the two.
                locked = _lock(c, conn, user, settings, client)
    except _AttemptDecided:
        raise TokenExpired() from None
    if count is None:
        raise AuthenticationFailed(DISABLED)
    if pair is not None:
        # The login is complete and committed: clearing Redis's buckets is a courtesy that must
        # not turn a success into an error when Redis hiccups right now.
        if not c.limiter.in_database:
            try:
                _clear_buckets(c, user_id, settings)
            except Exception:
                log.warning("rate-limit buckets were not cleared after a successful check")
        if provider == ProviderType.BACKUP_CODE:
            _notify_backup_code_used(c, user, config, client)
        return pair
    if locked is not None:
        if not c.limiter.in_database:
            _clear_buckets(c, user.id, settings)
        if locked.now:
            notices.lockout(
                c, user, max_attempts=settings.max_failures, admin_address=locked.admin_address
            )
        raise AuthenticationFailed(LOCKED)
    _notify_once(c, user, attempt_id, client, "a wrong verification code was entered")
    raise BadRequest(INCORRECT)


def _notify_backup_code_used(c: Container, user: UserRecord, config: StoredConfig, client: ClientSeen) -> None:
    """A backup code is a recovery secret: its use is worth telling the owner about."""
    with c.db.read() as conn:
        left = config_store.codes_left(conn, config.id)
    notices.changed(c, user, f"a backup code was used to sign in ({left} left)", client)


@dataclass(frozen=True)
class _Locked:
    now: bool  # this request locked the account (another may have already)
    admin_address: str | None


def _lock(
    c: Container, conn: Connection, user: UserRecord, settings: PlatformSettings, client: ClientSeen
) -> _Locked:
    """Disable the credentials, end every session and pending second step, in the deciding
    transaction; the notification goes out after it commits."""
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
        audit.record_user_event(conn, user, "LOCKOUT", login_data(client.address, client.user_agent))
    if c.limiter.in_database:
        _clear_buckets(c, user.id, settings, conn=conn)
    admin_address = stored_settings.security_settings(conn).get("userLockoutNotificationEmail")
    return _Locked(bool(locked_now), admin_address)


def _notify_once(c: Container, user: UserRecord, attempt_id: uuid.UUID, client: ClientSeen, reason: str) -> None:
    with c.db.transaction() as conn:
        if not stored_settings.security_settings(conn).get("notifyOnFailedSecondFactor", True):
            return
        first = conn.execute(
            update(t.login_attempt)
            .where(t.login_attempt.c.id == attempt_id, t.login_attempt.c.notified.is_(False))
            .values(notified=True)
        ).rowcount
    if first:
        notices.failed_second_step(
            c, user, client_address=client.address, user_agent=client.user_agent, reason=reason
        )
