"""Direct database set-up for tests that are not about user management."""

from __future__ import annotations

import subprocess
import time
import uuid
from typing import Any

from sqlalchemy import select, update

from twostep.bootstrap import Container
from twostep.domain.ids import NULL_UUID, new_id, now_ms
from twostep.storage import tables as t


def create_tenant(container: Container, title: str = "Tenant A") -> uuid.UUID:
    tenant_id = new_id()
    with container.db.transaction() as conn:
        profile = conn.execute(
            select(t.tenant_profile.c.id).where(t.tenant_profile.c.is_default.is_(True))
        ).scalar_one()
        conn.execute(
            t.tenant.insert().values(
                id=tenant_id, created_time=now_ms(), title=title, region="Global",
                tenant_profile_id=profile, version=1,
            )
        )
    return tenant_id


def create_user(
    container: Container,
    email: str,
    password: str = "user-Pa55word",
    *,
    authority: str = "TENANT_ADMIN",
    tenant_id: uuid.UUID | None = None,
    enabled: bool = True,
) -> uuid.UUID:
    if authority == "TENANT_ADMIN" and tenant_id is None:
        tenant_id = create_tenant(container)
    user_id = new_id()
    now = now_ms()
    with container.db.transaction() as conn:
        conn.execute(
            t.user.insert().values(
                id=user_id, created_time=now, tenant_id=tenant_id or NULL_UUID, customer_id=NULL_UUID,
                email=email, authority=authority, additional_info={}, version=1,
            )
        )
        conn.execute(
            t.user_credentials.insert().values(
                user_id=user_id, enabled=enabled, password_hash=container.passwords.hash(password),
                password_set_time=now, password_history=[], failed_login_attempts=0, twofa_failed_attempts=0,
            )
        )
    return user_id


def bearer(token: str) -> dict[str, str]:
    return {"X-Authorization": f"Bearer {token}"}


def oathtool(secret: str, at: float | None = None) -> str:
    """A TOTP code from an independent implementation (OATH Toolkit)."""
    cmd = ["oathtool", "--totp", "-b"]
    if at is not None:
        cmd += ["-N", f"@{int(at)}"]
    return subprocess.run(cmd + [secret], check=True, capture_output=True, text=True).stdout.strip()


def secret_of(auth_url: str) -> str:
    return auth_url.split("secret=")[1].split("&")[0]


def fresh_step_time() -> float:
    """Now, unless the current 30 s step ends within 2 s (then wait for the next step)."""
    now = time.time()
    if 30 - (now % 30) < 2:
        time.sleep(30 - (now % 30) + 0.1)
        now = time.time()
    return now


PLATFORM_ALL = {
    "providers": [
        {"providerType": "TOTP", "issuerName": "ThingsBoard"},
        {"providerType": "SMS", "verificationCodeLifetime": 120, "smsVerificationMessageTemplate": "Verification code: ${code}"},
        {"providerType": "EMAIL", "verificationCodeLifetime": 120},
        {"providerType": "BACKUP_CODE", "codesQuantity": 10},
    ],
    "minVerificationCodeSendPeriod": 30,
    "verificationCodeCheckRateLimit": None,
    "maxVerificationFailuresBeforeUserLockout": 30,
    "totalAllowedTimeForVerification": 600,
    "enforceTwoFa": False,
    "enforcedUsersFilter": None,
}


def platform(**overrides: Any) -> dict[str, Any]:
    body = {**PLATFORM_ALL, **overrides}
    return body


def age_refreshes(container: Container, seconds: float) -> None:
    """Every exchange of a refresh token happened `seconds` earlier: past the grace period."""
    with container.db.transaction() as conn:
        conn.execute(
            update(t.auth_session)
            .where(t.auth_session.c.rotated_at.is_not(None))
            .values(rotated_at=t.auth_session.c.rotated_at - int(seconds * 1000))
        )
