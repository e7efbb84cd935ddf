"""ThingsBoard JSON shapes of entities (ids, users, tenants, tenant profiles, customers), shared by the
web layer and by audit entries that embed an entity. Nulls are kept, as ThingsBoard's mapper does."""

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

_CONTACT = ("country", "state", "city", "address", "address2", "zip", "phone", "email")


def _contact(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _CONTACT}


def tenant_json(row: Any) -> dict[str, Any]:
    return {
        "id": entity_id("TENANT", row.id),
        "createdTime": row.created_time,
        "additionalInfo": row.additional_info,
        **_contact(row),
        "title": row.title,
        "region": row.region,
        "tenantProfileId": entity_id("TENANT_PROFILE", row.tenant_profile_id),
        "version": row.version,
        "name": row.title,
    }


def tenant_info_json(row: Any) -> dict[str, Any]:
    """`row` also carries `tenant_profile_name`."""
    return {**tenant_json(row), "tenantProfileName": row.tenant_profile_name}


def customer_json(row: Any) -> dict[str, Any]:
    return {
        "id": entity_id("CUSTOMER", row.id),
        "createdTime": row.created_time,
        "additionalInfo": row.additional_info,
        **_contact(row),
        "title": row.title,
        "tenantId": entity_id("TENANT", row.tenant_id),
        "externalId": entity_id("CUSTOMER", row.external_id),
        "version": row.version,
        "name": row.title,
    }


def customer_short_info(row: Any) -> dict[str, Any]:
    info = row.additional_info if isinstance(row.additional_info, dict) else {}
    return {"title": row.title, "isPublic": info.get("isPublic") is True}


def tenant_profile_json(row: Any) -> dict[str, Any]:
    return {
        "id": entity_id("TENANT_PROFILE", row.id),
        "createdTime": row.created_time,
        "name": row.name,
        "description": row.description,
        "default": row.is_default,
        "isolatedTbRuleEngine": row.isolated_tb_rule_engine,
        "profileData": row.profile_data,
    }


def entity_info(entity_type: str, row: Any) -> dict[str, Any]:
    """ThingsBoard's EntityInfo: {"id": {...}, "name": "..."}."""
    return {"id": entity_id(entity_type, row.id), "name": row.name}


def user_email_info(row: Any) -> dict[str, Any]:
    return {
        "id": entity_id("USER", row.id),
        "email": row.email,
        "firstName": row.first_name,
        "lastName": row.last_name,
    }
