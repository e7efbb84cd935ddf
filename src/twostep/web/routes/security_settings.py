"""GET/POST /api/admin/securitySettings (SYS_ADMIN)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from twostep.domain import security_settings
from twostep.services.records import stored_settings
from twostep.web.deps import ContainerDep, SysAdmin

router = APIRouter()


@router.get("/api/admin/securitySettings")
def get_security_settings(_: SysAdmin, container: ContainerDep) -> dict[str, Any]:
    with container.db.read() as conn:
        return stored_settings.security_settings(conn)


@router.post("/api/admin/securitySettings")
def save_security_settings(
    _: SysAdmin, container: ContainerDep, body: Any = Body(None)
) -> dict[str, Any]:
    stored = security_settings.validate(body)
    with container.db.transaction() as conn:
        stored_settings.put(conn, "securitySettings", stored)
    return stored
