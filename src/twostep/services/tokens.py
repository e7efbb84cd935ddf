"""JWT access, refresh and restricted (2FA) tokens, shaped as ThingsBoard issues them (HS512).

Every token pair is bound to an `auth_session` row and every restricted token to a
`twofa_login_attempt` row, so both are revocable at once and across instances.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from sqlalchemy import Connection, func, select, update

from twostep.domain.authority import Authority
from twostep.domain.errors import AuthenticationFailed, TokenExpired
from twostep.domain.ids import NULL_UUID, now_ms
from twostep.services.jwt_codec import JwtCodec
from twostep.storage import tables as t
from twostep.storage.db import Database

ALGORITHM = "HS512"
_NEW_SESSION = t.auth_session.insert()
# The sign-in a session continues: its family, or the session itself when it began one.
_FAMILY = func.coalesce(t.auth_session.c.family_id, t.auth_session.c.id)


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    email: str
    authority: Authority
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    session_id: uuid.UUID | None
    jti: uuid.UUID | None
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class PreparedPair:
    session: dict[str, object]  # the auth_session row
    tokens: dict[str, str]  # {"token": access JWT, "refreshToken": refresh JWT}


class ClientSeen(Protocol):
    """Where a request came from (the web layer's client info, the services' Client)."""

    @property
    def address(self) -> str: ...

    @property
    def user_agent(self) -> str | None: ...


@dataclass(frozen=True)
class SignIn:
    """One live sign-in of a user: a session family, as its owner sees it."""

    id: uuid.UUID  # the family
    signed_in_time: int
    last_refresh_time: int
    ip: str | None
    user_agent: str | None
    current: bool


@dataclass(frozen=True)
class UserIdentity:
    id: uuid.UUID
    email: str
    authority: str
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    first_name: str | None = None
    last_name: str | None = None


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
    ):
        self._db = db
        self._jwt = JwtCodec(key, ALGORITHM)
        self.issuer = issuer
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # Seconds a sign-in may last however often it is refreshed (0: no limit).
        self.sign_in_max_age = sign_in_max_age

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
            "iss": self.issuer,
            "iat": iat,
            "exp": iat + ttl,
        }
        if user.customer_id != NULL_UUID:
            claims["customerId"] = str(user.customer_id)
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
            row = conn.execute(
                select(t.auth_session.c.revoked, t.auth_session.c.expires_at).where(
                    t.auth_session.c.id == session_id
                )
            ).first()
        return row is not None and not row.revoked and row.expires_at > now_ms()

    # -- revoking -------------------------------------------------------------------------------

    @staticmethod
    def revoke_session(conn, session_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
        """Logout: the presented pair and every pair refreshed from the same login."""
        family = conn.execute(
            select(t.auth_session.c.family_id).where(t.auth_session.c.id == session_id)
        ).scalar()
        condition = t.auth_session.c.id == session_id
        if family is not None:
            condition = condition | (t.auth_session.c.family_id == family)
        conn.execute(update(t.auth_session).where(condition).values(revoked=True))

    def rotate(self, session_id: uuid.UUID | None, user: UserIdentity) -> dict[str, str] | None:
        """Exchange a refresh token once: its session ends and a new pair joins the family. A
        token whose session already ended (used twice: one of the two is a thief) ends the family."""
        if session_id is None:
            return None
        now = now_ms()
        s_ = t.auth_session.c
        with self._db.transaction() as conn:
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
                .values(revoked=True)
            ).rowcount
            if won != 1:
                conn.execute(update(t.auth_session).where(_FAMILY == sign_in.family).values(revoked=True))
                return None
            return self.issue_pair(user, conn=conn, family_id=sign_in.family, signed_in_at=began)

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
        """Every live session of one sign-in of the user; how many ended (0: none of theirs)."""
        return conn.execute(  # type: ignore[no-any-return]
            update(t.auth_session)
            .where(
                t.auth_session.c.user_id == user_id,
                _FAMILY == family,
                t.auth_session.c.revoked.is_(False),
            )
            .values(revoked=True)
        ).rowcount

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
        """All token pairs (but those of the sign-in `keep_family`, if given) and all pending
        second steps of the user; how many sessions ended."""
        live = [t.auth_session.c.user_id == user_id, t.auth_session.c.revoked.is_(False)]
        if keep_family is not None:
            live.append(_FAMILY != keep_family)
        ended = conn.execute(update(t.auth_session).where(*live).values(revoked=True)).rowcount
        conn.execute(
            update(t.login_attempt)
            .where(t.login_attempt.c.user_id == user_id, t.login_attempt.c.state == "ACTIVE")
            .values(state="REVOKED")
        )
        return ended  # type: ignore[no-any-return]
