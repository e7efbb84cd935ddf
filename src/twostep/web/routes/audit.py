"""GET /api/audit/logs*: ThingsBoard's paged audit log, scoped to the caller's tenant."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, and_, or_, select

from twostep.domain.errors import BadRequest
from twostep.domain.ids import now_ms, parse_uuid
from twostep.storage import tables as t
from twostep.tbjson import entity_id
from twostep.web.deps import Admin, ContainerDep, Principal, TenantAdmin
from twostep.web.paging import PageLink, fetch_page, page_link
from twostep.web.params import OptionalInt64Query

router = APIRouter()

ACTION_TYPES = {
    "ADDED", "DELETED", "UPDATED", "ATTRIBUTES_UPDATED", "ATTRIBUTES_DELETED", "TIMESERIES_UPDATED",
    "TIMESERIES_DELETED", "RPC_CALL", "CREDENTIALS_UPDATED", "ASSIGNED_TO_CUSTOMER",
    "UNASSIGNED_FROM_CUSTOMER", "ACTIVATED", "SUSPENDED", "CREDENTIALS_READ", "ATTRIBUTES_READ",
    "RELATION_ADD_OR_UPDATE", "RELATION_DELETED", "RELATIONS_DELETED", "REST_API_RULE_ENGINE_CALL",
    "ALARM_ACK", "ALARM_CLEAR", "ALARM_DELETE", "ALARM_ASSIGNED", "ALARM_UNASSIGNED", "LOGIN", "LOGOUT",
    "LOCKOUT", "ASSIGNED_FROM_TENANT", "ASSIGNED_TO_TENANT", "PROVISION_SUCCESS", "PROVISION_FAILURE",
    "ASSIGNED_TO_EDGE", "UNASSIGNED_FROM_EDGE", "ADDED_COMMENT", "UPDATED_COMMENT", "DELETED_COMMENT",
    "SMS_SENT",
}
a = t.audit_log.c
SORTABLE = {
    "createdTime": a.created_time, "entityType": a.entity_type, "entityName": a.entity_name,
    "userName": a.user_name, "actionType": a.action_type, "actionStatus": a.action_status,
}


def _json(row: Any) -> dict[str, Any]:
    return {
        "id": {"id": str(row.id)},
        "createdTime": row.created_time,
        "tenantId": entity_id("TENANT", row.tenant_id),
        "customerId": entity_id("CUSTOMER", row.customer_id),
        "entityId": entity_id(row.entity_type, row.entity_id) if row.entity_type else None,
        "entityName": row.entity_name,
        "userId": entity_id("USER", row.user_id),
        "userName": row.user_name,
        "actionType": row.action_type,
        "actionData": row.action_data,
        "actionStatus": row.action_status,
        "actionFailureDetails": row.action_failure_details,
    }


def _filters(
    startTime: OptionalInt64Query = None,  # noqa: N803
    endTime: OptionalInt64Query = None,  # noqa: N803
    actionTypes: list[str] | None = Query(None),  # noqa: N803
) -> list[ColumnElement[bool]]:
    conditions = [a.created_time >= (startTime if startTime is not None else 1),
                  a.created_time <= (endTime if endTime is not None else now_ms())]
    # ThingsBoard's UI repeats the parameter (actionTypes=LOGIN&actionTypes=LOGOUT) and other
    # clients join values with commas: Spring merges both forms, and so do we.
    wanted = [x.strip().upper() for value in actionTypes or [] for x in value.split(",") if x.strip()]
    if wanted:
        unknown = [x for x in wanted if x not in ACTION_TYPES]
        if unknown:
            raise BadRequest(f"No enum constant ActionType.{unknown[0]}")
        conditions.append(a.action_type.in_(wanted))
    return conditions


def _page(container: Any, principal: Principal, link: PageLink, conditions: list[ColumnElement[bool]], *, search_user: bool = True) -> dict[str, Any]:
    query = select(t.audit_log).where(a.tenant_id == principal.tenant_id, *conditions)
    if link.text_search:
        pattern = f"%{link.text_search}%"
        columns = [a.entity_type, a.entity_name, a.action_type, a.action_status] + ([a.user_name] if search_user else [])
        query = query.where(or_(*[c.ilike(pattern) for c in columns]))
    plain = PageLink(link.page_size, link.page, None, link.sort_property, link.sort_order)
    with container.db.read() as conn:
        return fetch_page(conn, query, plain, sortable=SORTABLE, id_column=a.id, search_column=None, to_json=_json)


@router.get("/api/audit/logs")
def audit_logs(principal: Admin, container: ContainerDep, link: PageLink = Depends(page_link),
               conditions: list[ColumnElement[bool]] = Depends(_filters)) -> dict[str, Any]:
    return _page(container, principal, link, conditions)


@router.get("/api/audit/logs/user/{userId}")
def audit_logs_by_user(userId: str, principal: TenantAdmin, container: ContainerDep,  # noqa: N803
                       link: PageLink = Depends(page_link),
                       conditions: list[ColumnElement[bool]] = Depends(_filters)) -> dict[str, Any]:
    return _page(container, principal, link, [*conditions, a.user_id == parse_uuid(userId)], search_user=False)


@router.get("/api/audit/logs/customer/{customerId}")
def audit_logs_by_customer(customerId: str, principal: TenantAdmin, container: ContainerDep,  # noqa: N803
                           link: PageLink = Depends(page_link),
                           conditions: list[ColumnElement[bool]] = Depends(_filters)) -> dict[str, Any]:
    return _page(container, principal, link, [*conditions, a.customer_id == parse_uuid(customerId)])


@router.get("/api/audit/logs/entity/{entityType}/{entityId}")
def audit_logs_by_entity(entityType: str, entityId: str, principal: Admin, container: ContainerDep,  # noqa: N803
                         link: PageLink = Depends(page_link),
                         conditions: list[ColumnElement[bool]] = Depends(_filters)) -> dict[str, Any]:
    target: uuid.UUID = parse_uuid(entityId)
    return _page(container, principal, link, [*conditions, and_(a.entity_type == entityType.upper(), a.entity_id == target)])
