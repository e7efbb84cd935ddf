"""JWT access, refresh and restricted (2FA) tokens, shaped as ThingsBoard issues them (HS512).

Every token pair is bound to an `auth_session` row and every restricted token to a
`twofa_login_attempt` row, so both are revocable at once and across instances.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import Connection, bindparam, delete, func, select, update

from twostep.crypto import SecretBox
from twostep.domain.authority import Authority
from twostep.domain.errors import AuthenticationFailed, TokenExpired
from twostep.domain.ids import NULL_UUID, now_ms
from twostep.services.sessions.jwt_codec import JwtCodec
from twostep.services.values import Claims, ClientSeen, UserIdentity
from twostep.storage import tables as t
from twostep.storage.db import Database

ALGORITHM = "HS512"
_NEW_SESSION = t.auth_session.insert()
# A session is live only while its user's credentials are enabled too: a second layer behind the
# revocation that every lockout and disabling does.
_SESSION_LIVENESS = (
    select(t.auth_session.c.revoked, t.auth_session.c.expires_at, t.user_credentials.c.enabled)
    .select_from(
        t.auth_session.join(
            t.user_credentials, t.user_credentials.c.user_id == t.auth_session.c.user_id
        )
    )
    .where(t.auth_session.c.id == bindparam("b_session"))
)
# The sign-in a session continues: its family, or the session itself when it began one.
_FAMILY = func.coalesce(t.auth_session.c.family_id, t.auth_session.c.id)


@dataclass(frozen=True)
class PreparedPair:
    session: dict[str, object]  # the auth_session row
    tokens: dict[str, str]  # {"token": access JWT, "refreshToken": refresh JWT}


@dataclass(frozen=True)
class SignIn:
    """One live sign-in of a user: a session family, as its owner sees it."""

    id: uuid.UUID  # the family
    signed_in_time: int
    last_refresh_time: int
    ip: str | None
    user_agent: str | None
    current: bool


class TokenService:
    def __init__(
        self,
        db: Database,
        key: bytes,
        *,
        issuer: str,
        access_ttl: int,
        refresh_ttl: int,
        sign_in_max_age: int = 0,
        box: SecretBox | None = None,
        refresh_grace: int = 0,
    ):
        self._db = db
        self._jwt = JwtCodec(key, ALGORITHM)
        self.issuer = issuer
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # Seconds a sign-in may last however often it is refreshed (0: no limit).
        self.sign_in_max_age = sign_in_max_age
        # Seconds in which a just-exchanged refresh token gets its successor pair again (two tabs
        # refreshing at once) instead of ending the sign-in; 0 (or no box to seal it): never.
        self._box = box
        self.refresh_grace = refresh_grace if box is not None else 0

    # -- issuing --------------------------------------------------------------------------------

    def issue_pair(  # type: ignore[no-untyped-def]
        self,
        user: UserIdentity,
        conn=None,
        family_id: uuid.UUID | None = None,
        client: ClientSeen | None = None,
        signed_in_at: int | None = None,
    ) -> dict[str, str]:
        """A new session and its access/refresh pair (ThingsBoard: new sessionId per pair).

        With `conn`, the session row joins the caller's transaction; `family_id` ties a refreshed
        pair to the login it came from (`signed_in_at`: when that was); `client` is where a new
        sign-in came from."""
        prepared = self.prepare_pair(user, family_id, client, signed_in_at)
        if conn is not None:
            self.store(conn, prepared)
        else:
            with self._db.single() as own:
                self.store(own, prepared)
        return prepared.tokens

    @staticmethod
    def store(conn: Connection, prepared: PreparedPair) -> None:
        """Make a prepared pair live: its session row, in the caller's transaction."""
        conn.execute(_NEW_SESSION, prepared.session)

    def prepare_pair(
        self,
        user: UserIdentity,
        family_id: uuid.UUID | None = None,
        client: ClientSeen | None = None,
        signed_in_at: int | None = None,
    ) -> PreparedPair:
        """The signed pair and its session row, not yet stored (so that a transaction that decides
        whether to issue it does no signing while it holds its locks). A pair that continues a
        sign-in (`family_id`) ends, at the latest, when that sign-in (`signed_in_at`, ms) reaches
        its maximum age; one whose sign-in is of unknown age is born expired."""
        now = now_ms()
        session_id = uuid.uuid4()
        begins = family_id is None  # a sign-in, not a refresh or a password change within one
        refresh_exp = now + self.refresh_ttl * 1000
        access_exp = now + self.access_ttl * 1000
        if self.sign_in_max_age:
            began = now if begins else (signed_in_at or 0)
            ends = began + self.sign_in_max_age * 1000
            refresh_exp, access_exp = min(refresh_exp, ends), min(access_exp, ends)
        row = {
            "id": session_id,
            "user_id": user.id,
            "created_time": now,
            "expires_at": refresh_exp,
            "revoked": False,
            "family_id": family_id or session_id,
            "client_ip": None,
            "user_agent": None,
        }
        if begins and client is not None:
            row["client_ip"] = client.address[:64]
            row["user_agent"] = (client.user_agent or "")[:256] or None
        iat = now // 1000
        access = {
            "sub": user.email,
            "userId": str(user.id),
            "scopes": [user.authority],
            "sessionId": str(session_id),
            "enabled": True,
            "isPublic": False,
            "tenantId": str(user.tenant_id),
            "customerId": str(user.customer_id),
            "iss": self.issuer,
            "iat": iat,
            "exp": access_exp // 1000,
        }
        if user.first_name is not None:
            access["firstName"] = user.first_name
        if user.last_name is not None:
            access["lastName"] = user.last_name
        refresh = {
            "sub": user.email,
            "userId": str(user.id),
            "scopes": [Authority.REFRESH_TOKEN.value],
            "sessionId": str(session_id),
            "isPublic": False,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "iat": iat,
            "exp": refresh_exp // 1000,
        }
        tokens = {"token": self._encode(access), "refreshToken": self._encode(refresh)}
        return PreparedPair(session=row, tokens=tokens)

    def issue_restricted(
        self, user: UserIdentity, scope: Authority, *, jti: uuid.UUID, issued_ms: int, ttl: int
    ) -> str:
        iat = issued_ms // 1000
        claims = {
            "sub": user.email,
            "userId": str(user.id),
            "scopes": [scope.value],
            "sessionId": str(uuid.uuid4()),
            "jti": str(jti),
            "tenantId": str(user.tenant_id),
            # As ThingsBoard's: the null UUID for administrators, never left out.
            "customerId": str(user.customer_id),
            "iss": self.issuer,
            "iat": iat,
            "exp": iat + ttl,
        }
        return self._encode(claims)

    def _encode(self, claims: dict[str, object]) -> str:
        return self._jwt.encode(claims)

    # -- checking -------------------------------------------------------------------------------

    def decode(self, token: str) -> Claims:
        """Signature, algorithm, issuer and expiry; ThingsBoard's messages for each failure."""
        try:
            raw = self._jwt.decode(
                token,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except (jwt.InvalidSignatureError, jwt.InvalidIssuerError):
            raise TokenExpired() from None
        except jwt.PyJWTError:
            raise AuthenticationFailed("Invalid username or password") from None
        try:
            scopes = raw["scopes"]
            authority = Authority(scopes[0])
            return Claims(
                user_id=uuid.UUID(raw["userId"]),
                email=str(raw["sub"]),
                authority=authority,
                tenant_id=uuid.UUID(raw.get("tenantId") or str(NULL_UUID)),
                customer_id=uuid.UUID(raw.get("customerId") or str(NULL_UUID)),
                session_id=uuid.UUID(raw["sessionId"]) if raw.get("sessionId") else None,
                jti=uuid.UUID(raw["jti"]) if raw.get("jti") else None,
                issued_at=int(raw["iat"]),
                expires_at=int(raw["exp"]),
            )
        # Claims of the wrong type (a number for userId...) are a bad token like any other.
        except (LookupError, TypeError, ValueError, AttributeError, OverflowError):
            raise AuthenticationFailed("Invalid username or password") from None

    @staticmethod
    def sign_in_of(conn: Connection, session_id: uuid.UUID | None) -> Any:
        """(family, began) of the sign-in a session continues; began is None when the family's
        first session is gone. None for an unknown session."""
        if session_id is None:
            return None
        s, first = t.auth_session, t.auth_session.alias("first_of_family")
        return conn.execute(
            select(_FAMILY.label("family"), first.c.created_time.label("began"))
            .select_from(s.outerjoin(first, first.c.id == _FAMILY))
            .where(s.c.id == session_id)
        ).first()

    @staticmethod
    def family_of(conn: Connection, session_id: uuid.UUID | None) -> uuid.UUID | None:
        """The family (the sign-in) a session belongs to."""
        sign_in = TokenService.sign_in_of(conn, session_id)
        return sign_in.family if sign_in is not None else None

    def authenticated_at(self, session_id: uuid.UUID | None) -> int | None:
        """When the sign-in behind a session happened (ms): the creation of the first session of
        its family, since a refresh continues a sign-in and does not repeat it. None when that
        session is gone (the caller treats the sign-in as too old)."""
        with self._db.read() as conn:
            sign_in = self.sign_in_of(conn, session_id)
        return sign_in.began if sign_in is not None else None

    def session_is_live(self, session_id: uuid.UUID | None) -> bool:
        if session_id is None:
            return False
        with self._db.read() as conn:
            row = conn.execute(_SESSION_LIVENESS, {"b_session": session_id}).first()
        return row is not None and not row.revoked and row.expires_at > now_ms() and row.enabled

    # -- revoking -------------------------------------------------------------------------------

    @staticmethod
    def revoke_session(conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        """Logout: the presented pair and every pair refreshed from the same login."""
        lock_credentials(conn, user_id)
        family = conn.execute(
            select(t.auth_session.c.family_id).where(t.auth_session.c.id == session_id)
        ).scalar()
        condition = t.auth_session.c.id == session_id
        if family is not None:
            condition = condition | (t.auth_session.c.family_id == family)
        conn.execute(update(t.auth_session).where(condition).values(revoked=True, **_NO_SUCCESSOR))
        conn.execute(
            delete(t.twofa_pending).where(t.twofa_pending.c.owner == sign_in_owner(family or session_id))
        )

    def rotate(
        self, session_id: uuid.UUID | None, user: UserIdentity, presented: str = ""
    ) -> dict[str, str] | None:
        """Exchange a refresh token once: its session ends and a new pair joins the family. A
        token whose session already ended (used twice: one of the two is a thief) ends the family,
        unless it is the very token (`presented`) that was exchanged less than `refresh_grace`
        seconds ago and the pair it got is still live: then that same pair is answered again."""
        if session_id is None:
            return None
        now = now_ms()
        s_ = t.auth_session.c
        with self._db.transaction() as conn:
            # The user's credentials row first: a lockout or disabling that committed before this
            # refresh wins (they lock the same row, and end every session in their transaction).
            if not lock_credentials(conn, user.id):
                raise AuthenticationFailed("User account is not active")
            sign_in = self.sign_in_of(conn, session_id)
            if sign_in is None:
                return None
            began = sign_in.began
            if self.sign_in_max_age and (
                began is None or now - began >= self.sign_in_max_age * 1000
            ):
                raise TokenExpired()  # the sign-in is over, however recently it was refreshed
            won = conn.execute(
                update(t.auth_session)
                .where(s_.id == session_id, s_.revoked.is_(False), s_.expires_at > now)
                .values(revoked=True, rotated_at=now)
            ).rowcount
            if won != 1:
                again = self._successor_again(conn, session_id, presented, now)
                if again is not None:
                    return again
                conn.execute(
                    update(t.auth_session)
                    .where(_FAMILY == sign_in.family)
                    .values(revoked=True, **_NO_SUCCESSOR)
                )
                return None
            prepared = self.prepare_pair(user, sign_in.family, signed_in_at=began)
            self.store(conn, prepared)
            if self.refresh_grace and self._box is not None:
                sealed = self._box.seal(
                    json.dumps(prepared.tokens), context=_grace_context(session_id, presented)
                )
                conn.execute(
                    update(t.auth_session)
                    .where(s_.id == session_id)
                    .values(successor_id=prepared.session["id"], successor_enc=sealed)
                )
            return prepared.tokens

    def _successor_again(
        self, conn: Connection, session_id: uuid.UUID, presented: str, now: int
    ) -> dict[str, str] | None:
        """The pair an exchange of this very token gave, while the grace period lasts and that
        pair's session is live (no logout, lockout, password change or later refresh ended it)."""
        if not self.refresh_grace or self._box is None:
            return None
        s_, successor = t.auth_session.c, t.auth_session.alias("successor")
        row = conn.execute(
            select(s_.rotated_at, s_.successor_enc)
            .select_from(t.auth_session.join(successor, successor.c.id == s_.successor_id))
            .where(
                s_.id == session_id,
                s_.successor_enc.is_not(None),
                s_.rotated_at >= now - self.refresh_grace * 1000,
                successor.c.revoked.is_(False),
                successor.c.expires_at > now,
            )
        ).first()
        if row is None:
            return None
        try:  # opens only for the token that was exchanged (its hash is the AEAD context)
            tokens = json.loads(
                self._box.open(row.successor_enc, context=_grace_context(session_id, presented))
            )
        except ValueError:
            return None
        return {"token": str(tokens["token"]), "refreshToken": str(tokens["refreshToken"])}

    @staticmethod
    def sign_ins(conn: Connection, user_id: uuid.UUID, current: uuid.UUID | None) -> list[SignIn]:
        """The user's live sign-ins (session families), the caller's first, then the newest."""
        s, first = t.auth_session, t.auth_session.alias("first_of_family")
        rows = conn.execute(
            select(
                _FAMILY.label("family"),
                func.max(s.c.created_time).label("last"),
                func.coalesce(first.c.created_time, func.min(s.c.created_time)).label("began"),
                first.c.client_ip,
                first.c.user_agent,
            )
            .select_from(s.outerjoin(first, first.c.id == _FAMILY))
            .where(s.c.user_id == user_id, s.c.revoked.is_(False), s.c.expires_at > now_ms())
            .group_by(_FAMILY, first.c.created_time, first.c.client_ip, first.c.user_agent)
        ).all()
        mine = TokenService.family_of(conn, current)
        found = [
            SignIn(r.family, r.began, r.last, r.client_ip, r.user_agent, r.family == mine)
            for r in rows
        ]
        return sorted(found, key=lambda x: (not x.current, -x.signed_in_time))

    @staticmethod
    def end_sign_in(conn: Connection, user_id: uuid.UUID, family: uuid.UUID) -> int:
        """Every live session of one sign-in of the user, and the enrollments it left pending; how
        many sessions ended (0: none of theirs)."""
        lock_credentials(conn, user_id)
        ended = conn.execute(
            update(t.auth_session)
            .where(
                t.auth_session.c.user_id == user_id,
                _FAMILY == family,
                t.auth_session.c.revoked.is_(False),
            )
            .values(revoked=True)
        ).rowcount
        if ended:
            _forget_successors(conn, user_id, family=family)
            _drop_pending(conn, user_id, owner=sign_in_owner(family))
        return ended

    @staticmethod
    def revoke_others(conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID) -> int:
        """Every live session of the user outside the sign-in of `session_id` (its family), and
        the user's pending second steps; how many sessions ended."""
        keep = TokenService.family_of(conn, session_id)
        if keep is None:  # the caller's own session is gone: end nothing rather than everything
            return 0
        return TokenService.revoke_user(conn, user_id, keep_family=keep)

    @staticmethod
    def revoke_user(conn, user_id: uuid.UUID, *, keep_family: uuid.UUID | None = None) -> int:  # type: ignore[no-untyped-def]
        """All token pairs (but those of the sign-in `keep_family`, if given), all pending second
        steps and configuration tokens, and every enrollment those sign-ins left pending; how many
        sessions ended."""
        lock_credentials(conn, user_id)  # first, as every transaction that changes the user does
        live = [t.auth_session.c.user_id == user_id, t.auth_session.c.revoked.is_(False)]
        if keep_family is not None:
            live.append(_FAMILY != keep_family)
        ended = conn.execute(update(t.auth_session).where(*live).values(revoked=True)).rowcount
        _forget_successors(conn, user_id, keep_family=keep_family)
        end_login_attempts(conn, user_id)
        _drop_pending(conn, user_id, keep=sign_in_owner(keep_family) if keep_family else None)
        return ended  # type: ignore[no-any-return]


# What a refresh keeps to answer a racing tab again; every revocation drops it (second layer
# behind the successor's liveness, which the grace answer requires).
_NO_SUCCESSOR = {"successor_id": None, "successor_enc": None}


def _grace_context(session_id: uuid.UUID, presented: str) -> str:
    """AEAD context of a sealed successor pair: the exchanged session and the exact token."""
    digest = hashlib.sha256(presented.encode()).hexdigest()
    return f"refresh-grace:{session_id}:{digest}"


def _forget_successors(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    family: uuid.UUID | None = None,
    keep_family: uuid.UUID | None = None,
) -> None:
    """Revoked sign-ins give nothing again: the sealed successor pairs of the user's sessions
    (one sign-in's, or all but `keep_family`'s) are dropped."""
    s_ = t.auth_session.c
    condition = [s_.user_id == user_id, s_.successor_enc.is_not(None)]
    if family is not None:
        condition.append(_FAMILY == family)
    if keep_family is not None:
        condition.append(_FAMILY != keep_family)
    conn.execute(update(t.auth_session).where(*condition).values(**_NO_SUCCESSOR))


def sign_in_owner(family: uuid.UUID) -> str:
    """How a pending enrollment names the sign-in (session family) that started it."""
    return f"sign-in:{family}"


def attempt_owner(attempt_id: uuid.UUID) -> str:
    """How a pending enrollment names the configuration token (login attempt) that started it."""
    return f"attempt:{attempt_id}"


def end_login_attempts(
    conn: Connection, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> None:
    """Every live pre-verification and configuration token of the user (but `keep`'s) ends,
    with the enrollments they left pending."""
    live = [t.login_attempt.c.user_id == user_id, t.login_attempt.c.state == "ACTIVE"]
    if keep is not None:
        live.append(t.login_attempt.c.id != keep)
    conn.execute(update(t.login_attempt).where(*live).values(state="REVOKED"))
    pending = [
        t.twofa_pending.c.user_id == user_id,
        t.twofa_pending.c.owner.like("attempt:%"),
    ]
    if keep is not None:
        pending.append(t.twofa_pending.c.owner != attempt_owner(keep))
    conn.execute(delete(t.twofa_pending).where(*pending))


def _drop_pending(
    conn: Connection, user_id: uuid.UUID, *, owner: str | None = None, keep: str | None = None
) -> None:
    """Enrollments the user left pending: one sign-in's (`owner`), or all but `keep`'s."""
    condition = [t.twofa_pending.c.user_id == user_id]
    if owner is not None:
        condition.append(t.twofa_pending.c.owner == owner)
    if keep is not None:
        condition.append(t.twofa_pending.c.owner != keep)
    conn.execute(delete(t.twofa_pending).where(*condition))


def lock_credentials(conn: Connection, user_id: uuid.UUID) -> bool:
    """Locks the user's credentials row (PostgreSQL; SQLite serialises writers) and reads whether
    they are enabled. It is the user's mutex: every transaction that issues tokens to the user,
    ends their sessions, changes their password or 2FA, locks, disables or deletes them takes it
    first, so that they are decided one after the other (and never deadlock on the rows each
    takes next)."""
    return bool(
        conn.execute(
            select(t.user_credentials.c.enabled)
            .where(t.user_credentials.c.user_id == user_id)
            .with_for_update()
        ).scalar()
    )


def session_in_force(conn: Connection, session_id: uuid.UUID | None) -> bool:
    """Whether a session is still live, read in the caller's transaction (which holds the user's
    credentials row, so no revocation of the user can be half-way)."""
    if session_id is None:
        return False
    row = conn.execute(
        select(t.auth_session.c.revoked, t.auth_session.c.expires_at).where(
            t.auth_session.c.id == session_id
        )
    ).first()
    return row is not None and not row.revoked and row.expires_at > now_ms()
