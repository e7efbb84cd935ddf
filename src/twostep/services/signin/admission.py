"""What a verified password (or an activation) earns: a full token pair, a pre-verification
token (the user has 2FA) or a configuration token (2FA is enforced and nothing is set up yet)."""

from __future__ import annotations

from typing import Any

from twostep.bootstrap import Container
from twostep.domain.authority import Authority
from twostep.domain.ids import now_ms
from twostep.domain.twofa.platform import PlatformSettings
from twostep.services.records import audit
from twostep.services.records.audit import login_data
from twostep.services.sessions.issuing import AccountClosed, confirm_enabled, issue_full, restricted
from twostep.services.twofa import config_store, platform_settings
from twostep.services.twofa.platform_settings import is_enforced
from twostep.services.values import ClientSeen, UserRecord


def admit(
    c: Container,
    user: UserRecord,
    client: ClientSeen,
    settings: PlatformSettings | None,
    configs: list[Any],
    **credential_values: Any,
) -> dict[str, Any]:
    """PRE_VERIFICATION_TOKEN for users with 2FA, MFA_CONFIGURATION_TOKEN under enforcement,
    otherwise the normal pair; `settings` and `configs` were read with the user, and
    `credential_values` (a reset failure count, an upgraded hash) are written with the decision.
    AccountClosed when the credentials are no longer enabled."""
    # Without methods and without enforcement the answer is the full pair whatever else happens
    # (pruning only removes methods): the confirming write then also sets lastLoginTs, one write
    # of the credentials row instead of two on the common path.
    full = not configs and not (settings is not None and settings.enforce)
    values = {**credential_values, "last_login_ts": now_ms()} if full else credential_values
    with c.db.transaction() as conn:
        if not confirm_enabled(conn, user.id, **values):
            raise AccountClosed()
        if config_store.needs_pruning(configs, settings):
            configs = config_store.pruned_rows(conn, user.id, settings)
        if configs:
            return restricted(c, conn, user, Authority.PRE_VERIFICATION_TOKEN, settings, client)
        if is_enforced(conn, settings, user):
            return restricted(c, conn, user, Authority.MFA_CONFIGURATION_TOKEN, settings, client)
        return issue_full(c, conn, user, client, stamped=full)


def after_activation(c: Container, user: UserRecord, client: ClientSeen) -> dict[str, Any]:
    """A newly activated user signs in at once: a configuration token under enforcement (the
    LOGIN is audited then, as the password was just set), otherwise the normal pair."""
    with c.db.transaction() as conn:
        if not confirm_enabled(conn, user.id):
            raise AccountClosed()
        settings = platform_settings.load(conn)
        if is_enforced(conn, settings, user):
            audit.record_user_event(
                conn, user, "LOGIN", login_data(client.address, client.user_agent)
            )
            return restricted(c, conn, user, Authority.MFA_CONFIGURATION_TOKEN, settings, client)
        return issue_full(c, conn, user, client)
