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
from twostep.services import settings_store
from twostep.storage import tables as t
from twostep.storage.migrate import upgrade

log = logging.getLogger("twostep.setup")

DEFAULT_PROFILE_DATA = {
    "configuration": {
        "type": "DEFAULT",
        "maxUsers": 0,
        "maxCustomers": 0,
        "maxEmails": 0,
        "smsEnabled": None,
        "maxSms": 0,
        "maxDebugModeDurationMinutes": 15,
    },
    "queueConfiguration": None,
}


def ensure_default_tenant_profile(conn) -> None:  # type: ignore[no-untyped-def]
    exists = conn.execute(
        select(t.tenant_profile.c.id).where(t.tenant_profile.c.is_default.is_(True))
    ).first()
    if exists is None:
        conn.execute(
            t.tenant_profile.insert().values(
                id=new_id(),
                created_time=now_ms(),
                name="Default",
                description="Default tenant profile",
                is_default=True,
                isolated_tb_rule_engine=False,
                profile_data=DEFAULT_PROFILE_DATA,
            )
        )


def ensure_mail_settings(container: Container) -> None:
    """ThingsBoard's installed `mail` settings, so that its mail settings page loads on a fresh
    system (kept as they are once present; another instance may insert them at the same time)."""
    try:
        with container.db.transaction() as conn:
            if settings_store.get_row(conn, "mail") is None:
                settings_store.put(conn, "mail", dict(mail_presets.INSTALL_DEFAULTS))
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
        password = config.sysadmin_password
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(18)
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
