"""The schema, as SQLAlchemy Core tables. Alembic migrations in storage/migrations create it.

Times are epoch milliseconds (BigInteger), as ThingsBoard exposes them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenant_profile = Table(
    "tenant_profile",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("isolated_tb_rule_engine", Boolean, nullable=False, default=False),
    Column("profile_data", JSON, nullable=False),
)

_contact = lambda: [  # noqa: E731  (the contact columns Tenant and Customer share)
    Column("country", String(255)),
    Column("state", String(255)),
    Column("city", String(255)),
    Column("address", Text),
    Column("address2", Text),
    Column("zip", String(255)),
    Column("phone", String(255)),
    Column("email", String(255)),
]

tenant = Table(
    "tenant",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("title", String(255), nullable=False),
    Column("region", String(255)),
    Column("tenant_profile_id", Uuid, ForeignKey("tenant_profile.id"), nullable=False),
    *_contact(),
    Column("additional_info", JSON),
    Column("version", BigInteger, nullable=False, default=1),
)

customer = Table(
    "customer",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("tenant_id", Uuid, ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(255), nullable=False),
    *_contact(),
    Column("additional_info", JSON),
    Column("external_id", Uuid),
    Column("version", BigInteger, nullable=False, default=1),
    UniqueConstraint("tenant_id", "title", name="customer_title_unq_key"),
)

user = Table(
    "tb_user",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("tenant_id", Uuid, nullable=False, index=True),  # NULL_UUID for the sysadmin
    Column("customer_id", Uuid, nullable=False, index=True),  # NULL_UUID unless CUSTOMER_USER
    Column("email", String(255), nullable=False, unique=True),
    Column("authority", String(32), nullable=False),
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("phone", String(255)),
    Column("additional_info", JSON),
    Column("version", BigInteger, nullable=False, default=1),
)

user_credentials = Table(
    "user_credentials",
    metadata,
    Column("user_id", Uuid, ForeignKey("tb_user.id", ondelete="CASCADE"), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=False),
    Column("password_hash", Text),
    Column("password_set_time", BigInteger),  # start of the password-expiry period
    Column("password_history", JSON),  # [[ms, argon2 hash], ...]
    # Activation token: encrypted (the link can be shown again) plus a keyed hash to find it.
    Column("activate_token_hash", String(64), unique=True),
    Column("activate_token_enc", Text),
    Column("activate_token_exp", BigInteger),
    Column("reset_token_hash", String(64), unique=True),  # only the hash: the link is mailed once
    Column("reset_token_exp", BigInteger),
    Column("last_login_ts", BigInteger),
    Column("failed_login_attempts", Integer, nullable=False, default=0),  # password failures
    Column("twofa_failed_attempts", Integer, nullable=False, default=0),  # 2FA failures: its own
    # The user has saved 2FA settings at least once (ThingsBoard then answers {"configs": {}}
    # rather than an empty body once every method is gone).
    Column("twofa_saved", Boolean, nullable=False, default=False, server_default=false()),
)

# One live session per issued token pair: revocation by user (all rows) or by session (logout).
auth_session = Table(
    "auth_session",
    metadata,
    Column("id", Uuid, primary_key=True),  # the JWT sessionId claim
    Column("user_id", Uuid, ForeignKey("tb_user.id", ondelete="CASCADE"), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    # Every pair refreshed from one login shares its family: logout ends the whole family, and a
    # refresh token presented twice (stolen and raced) revokes it too.
    Column("family_id", Uuid),
    # Where the sign-in came from, on the family's first session only, so that its owner can
    # tell their sign-ins apart (GET /api/auth/sessions); purged with the row.
    Column("client_ip", String(64)),
    Column("user_agent", String(256)),
    # A refresh that exchanged this session's token: when, the session it created, and that pair
    # sealed (AES-GCM, bound to the exchanged token's hash), answered again to the same token
    # within the grace period (two tabs refreshing at once).
    Column("rotated_at", BigInteger),
    Column("successor_id", Uuid),
    Column("successor_enc", Text),
    Index("ix_auth_session_user", "user_id"),
    Index("ix_auth_session_family", "family_id"),
)

admin_settings = Table(
    "admin_settings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("tenant_id", Uuid, nullable=False),
    Column("key", String(255), nullable=False),
    Column("json_value", JSON, nullable=False),
    UniqueConstraint("tenant_id", "key", name="admin_settings_key_unq"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("tenant_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("entity_type", String(32)),
    Column("entity_id", Uuid),
    Column("entity_name", String(255)),
    Column("user_id", Uuid),
    Column("user_name", String(255)),
    Column("action_type", String(64), nullable=False),
    Column("action_data", JSON),
    Column("action_status", String(16), nullable=False),
    Column("action_failure_details", Text),
    Index("ix_audit_log_tenant_time", "tenant_id", "created_time"),
)

# --- two-factor authentication -----------------------------------------------------------------

# An active second factor of a user. `position` keeps ThingsBoard's map insertion order.
twofa_config = Table(
    "twofa_config",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("tb_user.id", ondelete="CASCADE"), nullable=False),
    Column("provider_type", String(16), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("use_by_default", Boolean, nullable=False, default=False),
    Column("created_time", BigInteger, nullable=False),
    Column("totp_secret_enc", Text),  # AES-GCM, key outside the database
    Column("totp_issuer", String(255)),
    Column("last_used_step", BigInteger),  # TOTP replay guard (RFC 6238 §5.2)
    Column("phone_number", String(32)),
    Column("email", String(255)),
    UniqueConstraint("user_id", "provider_type", name="twofa_config_user_provider_unq"),
)

backup_code = Table(
    "twofa_backup_code",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("config_id", Uuid, ForeignKey("twofa_config.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", BigInteger),
    UniqueConstraint("config_id", "code_hash", name="twofa_backup_code_unq"),
)

# What `generate`/`submit` produced and verify-and-save may activate: the server's own state.
twofa_pending = Table(
    "twofa_pending",
    metadata,
    Column("user_id", Uuid, ForeignKey("tb_user.id", ondelete="CASCADE"), primary_key=True),
    Column("provider_type", String(16), primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("totp_secret_enc", Text),
    Column("totp_issuer", String(255)),
    Column("backup_code_hashes", JSON),
    Column("target", String(255)),  # phone or email the setup code went to
    Column("code_hash", String(64)),
    Column("code_expires_at", BigInteger),
    # The sign-in that started it ("attempt:<id>" of a configuration token, "sign-in:<family>" of
    # a session): only that sign-in may confirm it, and it ends with that sign-in.
    Column("owner", String(64)),
)

# One password-verified login waiting for its second step; the pre-verification JWT's jti.
login_attempt = Table(
    "twofa_login_attempt",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("tb_user.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(32), nullable=False),  # PRE_VERIFICATION_TOKEN | MFA_CONFIGURATION_TOKEN
    Column("created_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # ACTIVE | VERIFIED | LOCKED | REVOKED
    Column("client_address", String(64)),
    Column("user_agent", Text),
    Column("code_provider", String(16)),
    Column("code_target", String(255)),
    Column("code_hash", String(64)),
    Column("code_expires_at", BigInteger),
    Column("failures", Integer, nullable=False, default=0),
    Column("notified", Boolean, nullable=False, default=False),
    # A configuration token's attempt that set up the user's first method(s): only it may go on
    # to set up more and to finish with POST /api/auth/2fa/login.
    Column("enrolled", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_twofa_login_attempt_user", "user_id"),
)

# Fixed-window counters for rate limits and send caps (used when Redis is not configured).
rate_limit = Table(
    "rate_limit",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("window_start", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# Mail that is sent after the request that asked for it, by a worker (services/records/mail_queue.py):
# a password-reset request is answered before anything about the address is looked up. The
# payload (the address, and what the mail needs) is sealed with the encryption key, bound to the
# row; nothing in it is a secret that works (the reset token is made when the mail is sent).
mail_queue = Table(
    "mail_queue",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("due_at", BigInteger, nullable=False),  # the next attempt, not before
    Column("attempts", Integer, nullable=False, default=0),  # counted when claimed
    # A worker's claim: only it may finish the row until the lease ends (a crashed worker's
    # rows are claimed again then).
    Column("claim_id", Uuid),
    Column("claimed_until", BigInteger),
    Index("ix_mail_queue_due", "due_at"),
)
