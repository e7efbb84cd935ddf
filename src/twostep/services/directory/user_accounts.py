"""Account administration of existing users: delete, activation link and mail, credentials on/off,
signing out."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update

from twostep.bootstrap import Container
from twostep.domain.authority import Authority
from twostep.domain.errors import BadRequest, NotFound, PermissionDenied
from twostep.domain.permissions import Caller, Operation, check, may_access_user
from twostep.services.directory.entity_store import actor
from twostep.services.directory.users import load, target, tenant_admins_query
from twostep.services.records import audit, user_rows
from twostep.services.sessions.tokens import TokenService
from twostep.services.signin import activation
from twostep.services.signin.activation import ActivationLink
from twostep.storage import tables as t


def delete_user(c: Container, caller: Caller, user_id: uuid.UUID) -> None:
    if caller.authority == Authority.SYS_ADMIN and caller.user_id == user_id:
        raise PermissionDenied("Sysadmin is not allowed to delete himself")
    with c.db.transaction() as conn:
        row = load(conn, caller, user_id, Operation.DELETE)
        if row.authority == Authority.TENANT_ADMIN.value:
            # Lock the tenant row so two concurrent deletes cannot remove the last two admins.
            conn.execute(
                select(t.tenant.c.id).where(t.tenant.c.id == row.tenant_id).with_for_update()
            )
            admins = conn.execute(
                select(func.count()).select_from(tenant_admins_query(row.tenant_id).subquery())
            ).scalar_one()
            if admins <= 1:
                raise BadRequest("At least one tenant administrator must remain!")
        # revoke_user takes the user's credentials row first, as every sign-in, check and change of
        # the user does: the delete then queues behind a check in flight instead of deadlocking.
        TokenService.revoke_user(conn, user_id)
        conn.execute(delete(t.user).where(t.user.c.id == user_id))
        audit.record(
            conn,
            actor(caller),
            "DELETED",
            entity_type="USER",
            entity_id=user_id,
            entity_name=row.email,
            # sic: ThingsBoard records the caller's customer id here (spec §2.8)
            data={"entityId": str(caller.customer_id)},
            customer_id=row.customer_id,
        )


def get_activation_link(
    c: Container, caller: Caller, user_id: uuid.UUID, base_url: str
) -> ActivationLink:
    # A write transaction: a token close to expiry is renewed (credentials.RENEW_BEFORE_MS).
    with c.db.transaction() as conn:
        row = load(conn, caller, user_id, Operation.READ)
        return activation.current_link(c, conn, row, base_url)


def send_activation_mail(c: Container, caller: Caller, email: str, base_url: str) -> None:
    with c.db.transaction() as conn:
        # NUL is never stored (entity_rules refuses it) and PostgreSQL can't compare it.
        row = user_rows.by_email(conn, email) if "\x00" not in email else None
        if row is None:
            raise NotFound("Requested item wasn't found!")
        check(may_access_user(caller, Operation.READ, target(row)))
        link = activation.current_link(c, conn, row, base_url)
        ttl = activation.ttl_hours(conn)
    activation.send(c, row.email, link.link, ttl)


def set_credentials_enabled(
    c: Container, caller: Caller, user_id: uuid.UUID, enabled: bool
) -> None:
    """Enabling also clears both failure counters: this is how an admin unlocks a locked user.
    Disabling revokes every token and pending second step of the user."""
    with c.db.transaction() as conn:
        row = load(conn, caller, user_id, Operation.WRITE)
        creds = t.user_credentials
        where = creds.c.user_id == user_id
        if enabled:
            if row.password_hash is None:
                raise BadRequest("Enabled user credentials should have password!")
            conn.execute(
                update(creds)
                .where(where)
                .values(enabled=True, failed_login_attempts=0, twofa_failed_attempts=0)
            )
        else:
            conn.execute(update(creds).where(where).values(enabled=False))
            TokenService.revoke_user(conn, user_id)


def sign_out_everywhere(c: Container, caller: Caller, user_id: uuid.UUID) -> int:
    """An administrator ends every session and pending second step of a user they manage
    (ASVS 7.4.5), without disabling the account; how many sessions ended."""
    with c.db.transaction() as conn:
        row = load(conn, caller, user_id, Operation.WRITE)
        ended = TokenService.revoke_user(conn, user_id)
        audit.record(
            conn,
            actor(caller),
            "LOGOUT",
            entity_type="USER",
            entity_id=user_id,
            entity_name=row.email,
            data={"sessionsEnded": ended},
            customer_id=row.customer_id,
        )
    return ended
