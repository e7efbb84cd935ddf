"""First start: schema, the default tenant profile, the installed mail settings and the system
administrator."""

from __future__ import annotations

import logging
import secrets
import sys

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from twostep.bootstrap import Container
from twostep.channels import mail_presets
from twostep.domain.authority import Authority
from twostep.domain.ids import NULL_UUID, new_id, now_ms
from twostep.services.directory.tenant_profiles import ensure_default_tenant_profile
from twostep.services.records import stored_settings
from twostep.storage import tables as t
from twostep.storage.migrate import upgrade

log = logging.getLogger("twostep.setup")

def ensure_mail_settings(container: Container) -> None:
    """ThingsBoard's installed `mail` settings, so that its mail settings page loads on a fresh
    system (kept as they are once present; another instance may insert them at the same time)."""
    try:
        with container.db.transaction() as conn:
            if stored_settings.get_row(conn, "mail") is None:
                stored_settings.put(conn, "mail", dict(mail_presets.INSTALL_DEFAULTS))
    except IntegrityError:
        pass  # inserted by a concurrent start


def _print_once(email: str, password: str) -> None:
    # Printed once to the operator's terminal, never logged.
    print(
        f"Created the system administrator {email} with the generated password: {password}\n"
        "Change it after the first login.",
        file=sys.stderr,
        flush=True,
    )


def initialize(container: Container, *, announce=_print_once) -> None:  # type: ignore[no-untyped-def]
    """Idempotent; safe to run from several instances at once."""
    upgrade(container.db)
    ensure_mail_settings(container)
    with container.db.transaction() as conn:
        ensure_default_tenant_profile(conn)
        admins = conn.execute(
            select(func.count())
            .select_from(t.user)
            .where(t.user.c.authority == Authority.SYS_ADMIN)
        ).scalar_one()
        if admins:
            return
        config = container.config
        email = (config.sysadmin_email or "sysadmin@twostep.local").strip()
        generated = config.sysadmin_password is None
        password = (
            secrets.token_urlsafe(18) if config.sysadmin_password is None else config.sysadmin_password
        )
        user_id = new_id()
        now = now_ms()
        conn.execute(
            t.user.insert().values(
                id=user_id,
                created_time=now,
                tenant_id=NULL_UUID,
                customer_id=NULL_UUID,
                email=email,
                authority=Authority.SYS_ADMIN.value,
                additional_info={},
                version=1,
            )
        )
        conn.execute(
            t.user_credentials.insert().values(
                user_id=user_id,
                enabled=True,
                password_hash=container.passwords.hash(password),
                password_set_time=now,
                password_history=[],
                failed_login_attempts=0,
                twofa_failed_attempts=0,
            )
        )
    if generated:
        announce(email, password)
    log.info("created the system administrator %s", email)
