"""Mail settings a fresh install starts with, and the (empty) OAuth2 presets of ThingsBoard's mail page.

ThingsBoard installs `mail` settings (a local SMTP server without authentication) so that its
mail settings page can load; twostep installs the same values. They point at no server anybody
chose, so nothing is sent with them and the EMAIL second factor waits until an administrator has
saved mail settings (a save seals or drops the clear empty password, which tells a saved row from
the installed one).
"""

from __future__ import annotations

from typing import Any

INSTALL_DEFAULTS: dict[str, Any] = {
    "mailFrom": "ThingsBoard <sysadmin@localhost.localdomain>",
    "smtpProtocol": "smtp",
    "smtpHost": "localhost",
    "smtpPort": "25",
    "timeout": "10000",
    "enableTls": False,
    "tlsVersion": "TLSv1.2",
    "username": "",
    "password": "",
    "enableProxy": False,
    "showChangePassword": False,
}


def is_install_default(stored: dict[str, Any] | None) -> bool:
    """The stored (still sealed) `mail` value is the one installed, never saved since."""
    return stored == INSTALL_DEFAULTS


# GET /api/mail/config/template lists presets of OAuth2 mail providers; twostep sends mail with
# SMTP passwords only (enableOauth2 is refused), so it offers none.
PROVIDER_PRESETS: list[dict[str, Any]] = []
