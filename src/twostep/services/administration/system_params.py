"""GET /api/system/params: what ThingsBoard's web UI loads right after every login.

Its UI signs the user out when this call fails. twostep has no dashboards, edges, rule engine or
mobile app, so those fields carry ThingsBoard's neutral values (nothing allowed, nothing enabled);
the one security-relevant field, `userTokenAccessEnabled` ("login as user"), is false for
everybody because that feature would skip the second factor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from twostep.bootstrap import Container
from twostep.domain.authority import Authority
from twostep.storage import tables as t

MAX_DATAPOINTS_LIMIT = 50_000  # ThingsBoard's default (ui.dashboard.max_datapoints_limit)
DEFAULT_DEBUG_MINUTES = 15


def _debug_minutes(c: Container, tenant_id: Any) -> int:
    with c.db.read() as conn:
        profile = conn.execute(
            select(t.tenant_profile.c.profile_data)
            .select_from(
                t.tenant.join(t.tenant_profile, t.tenant_profile.c.id == t.tenant.c.tenant_profile_id)
            )
            .where(t.tenant.c.id == tenant_id)
        ).scalar()
    configured = ((profile or {}).get("configuration") or {}).get("maxDebugModeDurationMinutes")
    return configured if isinstance(configured, int) and configured > 0 else DEFAULT_DEBUG_MINUTES


def params(c: Container, authority: Authority, tenant_id: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "userTokenAccessEnabled": False,
        "allowedDashboardIds": [],
        "edgesSupportEnabled": False,
        "hasRepository": False,
        "tbelEnabled": False,
        "persistDeviceStateToTelemetry": False,
        "userSettings": {"openedMenuSections": []},
        "maxDatapointsLimit": MAX_DATAPOINTS_LIMIT,
        "mobileQrEnabled": False,
    }
    if authority != Authority.SYS_ADMIN:
        body["maxResourceSize"] = 0  # no limit: twostep stores no resources
        body["maxDebugModeDurationMinutes"] = _debug_minutes(c, tenant_id)
    return body
