"""JSON shapes of ThingsBoard entities (ids, users, tenants, customers)."""

from __future__ import annotations

import uuid
from typing import Any


def entity_id(entity_type: str, value: uuid.UUID | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"entityType": entity_type, "id": str(value)}


def user_json(row: Any) -> dict[str, Any]:
    return {
        "id": entity_id("USER", row.id),
        "createdTime": row.created_time,
        "additionalInfo": row.additional_info,
        "tenantId": entity_id("TENANT", row.tenant_id),
        "customerId": entity_id("CUSTOMER", row.customer_id),
        "email": row.email,
        "authority": row.authority,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "phone": row.phone,
        "version": row.version,
        "name": row.email,
    }
