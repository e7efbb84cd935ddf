"""Which fields of the `mail` and `sms` admin settings are secrets, and how they are kept.

- At rest each secret is sealed (AES-GCM) with the context `admin_settings:<key>:<field>`, so a
  database dump does not reveal it and a ciphertext cannot be moved to another field.
- On read, mail `password`/`refreshToken` are dropped (as ThingsBoard does); every other secret is
  replaced by MASK when it has a value (so forms that echo the object back keep working).
- On write, a secret that is absent, null or MASK keeps the stored value, but only while the
  fields it belongs to (server address, account, key id) are unchanged: otherwise a sysadmin
  session could point the stored password at a server of its choosing and read it there.
"""

from __future__ import annotations

import logging
from typing import Any

from twostep.channels.errors import ChannelConfigError
from twostep.crypto import SecretBox
from twostep.services.ports import Sealing

log = logging.getLogger("twostep.settings_secrets")

MASK = "********"

# field -> the fields whose change means the secret must be entered again
_MAIL: dict[str, tuple[str, ...]] = {
    "password": ("smtpHost", "smtpPort", "smtpProtocol", "username"),
    # Not bound here: admin_settings drops it when the OAuth2 client changes (ThingsBoard's rule).
    "refreshToken": (),
    "proxyPassword": ("proxyHost", "proxyPort", "proxyUser"),
    "clientSecret": ("providerId", "clientId", "tokenUri"),
}
_SMS: dict[str, dict[str, tuple[str, ...]]] = {
    "TWILIO": {"accountToken": ("accountSid", "endpointUrl")},
    "AWS_SNS": {"secretAccessKey": ("accessKeyId", "endpointUrl")},
    "SMPP": {"password": ("host", "port", "systemId")},
}
DROPPED_ON_READ = {"mail": ("password", "refreshToken")}


def secret_fields(key: str, value: dict[str, Any] | None) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if key == "mail":
        return _MAIL
    if key == "sms":
        return _SMS.get(str(value.get("type")), {})
    return {}


def all_secret_names(key: str) -> set[str]:
    if key == "mail":
        return set(_MAIL)
    if key == "sms":
        return {name for fields in _SMS.values() for name in fields}
    return set()


def _context(key: str, name: str) -> str:
    return f"admin_settings:{key}:{name}"


def seal(box: Sealing, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """The value to store: every secret sealed; null secrets left out."""
    out = dict(value)
    # Every secret name of the key, not only the current type's: a field left over from another
    # provider type is still a secret.
    for name in all_secret_names(key):
        secret = out.get(name)
        if secret is None:
            out.pop(name, None)
        else:
            out[name] = box.seal(str(secret), context=_context(key, name))
    return out


def unseal(box: Sealing, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """The stored value with secrets in clear (for the transports only, never for a response)."""
    out = dict(value)
    for name in all_secret_names(key):
        secret = out.get(name)
        if isinstance(secret, str) and secret.startswith(SecretBox.PREFIX):
            try:
                out[name] = box.open(secret, context=_context(key, name))
            except ValueError:
                # Wrong key or a moved ciphertext: better no secret than a ciphertext as password.
                log.warning("stored secret %s.%s cannot be decrypted; ignoring it", key, name)
                out.pop(name)
    return out


def public_view(key: str, value: dict[str, Any]) -> dict[str, Any]:
    """What a GET/POST response shows: no secret ever."""
    out = dict(value)
    for name in DROPPED_ON_READ.get(key, ()):
        out.pop(name, None)
    # Mask every name that is a secret for any provider type: a field left over from an older
    # configuration of another type is still a secret.
    for name in all_secret_names(key):
        if name in out and name not in DROPPED_ON_READ.get(key, ()):
            out[name] = MASK if out[name] not in (None, "") else out[name]
    return out


def _same(a: Any, b: Any) -> bool:
    norm = lambda v: "" if v is None else str(v).strip()
    return norm(a) == norm(b)


def merge(key: str, new: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """`new` with each omitted secret (absent, null or MASK) taken from `stored` (in clear).

    Raises ChannelConfigError when an omitted secret exists but the fields it belongs to changed.
    """
    out = dict(new)
    same_kind = stored is not None and (key != "sms" or stored.get("type") == new.get("type"))
    for name, binding in secret_fields(key, new).items():
        given = out.get(name)
        if given is not None and given != MASK:
            continue
        out.pop(name, None)
        previous = stored.get(name) if same_kind and stored is not None else None
        if previous in (None, ""):
            continue
        assert stored is not None
        if all(_same(new.get(f), stored.get(f)) for f in binding):
            out[name] = previous
        else:
            changed = ", ".join(f for f in binding if not _same(new.get(f), stored.get(f)))
            raise ChannelConfigError(f"{name} must be entered again because {changed} changed")
    return out
