"""Every router, in one visible list. Literal paths come before parameterised ones inside each module."""

from __future__ import annotations

from twostep.web.routes import (
    admin,
    audit,
    auth,
    customers,
    health,  # production mode: /healthz, /readyz, /metrics
    pages,
    security_settings,
    system,
    tenant_profiles,
    tenants,
    twofa_config,
    twofa_login,
    users,
)

ROUTERS = [
    auth.router,
    twofa_login.router,
    twofa_config.router,
    users.router,
    tenants.router,
    tenant_profiles.router,
    customers.router,
    admin.router,
    security_settings.router,
    system.router,
    audit.router,
    pages.router,
    health.router,
]
