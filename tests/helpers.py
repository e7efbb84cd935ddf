"""Shared API test helpers: tenants, customers and activated users, all through the HTTP API."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from twostep.bootstrap import Container
from twostep.storage.tables import metadata

PASSWORD = "Tenant-Pa55word"

Headers = dict[str, str]


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def login(client: TestClient, email: str, password: str = PASSWORD) -> Headers:
    r = client.post("/api/auth/login", json={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"X-Authorization": f"Bearer {r.json()['token']}"}


def create_tenant(
    client: TestClient, sysadmin_headers: Headers, title: str = "Tenant"
) -> dict[str, Any]:
    r = client.post("/api/tenant", json={"title": title}, headers=sysadmin_headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def create_customer(
    client: TestClient, tenant_headers: Headers, title: str = "Customer"
) -> dict[str, Any]:
    r = client.post("/api/customer", json={"title": title}, headers=tenant_headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def create_user(client: TestClient, headers: Headers, body: dict[str, Any]) -> dict[str, Any]:
    """A user created without the activation mail."""
    r = client.post("/api/user?sendActivationMail=false", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def activate(
    client: TestClient, admin_headers: Headers, user_id: str, password: str = PASSWORD
) -> Headers:
    """Activates a user through its activation link (read by an admin) and returns its headers."""
    r = client.get(f"/api/user/{user_id}/activationLink", headers=admin_headers)
    assert r.status_code == 200, r.text
    token = parse_qs(urlparse(r.text).query)["activateToken"][0]
    r = client.post(
        "/api/noauth/activate?sendActivationMail=false",
        json={"activateToken": token, "password": password},
    )
    assert r.status_code == 200, r.text
    return {"X-Authorization": f"Bearer {r.json()['token']}"}


def tenant_admin_body(tenant_id: str, email: str | None = None) -> dict[str, Any]:
    return {
        "email": email or unique_email("admin"),
        "authority": "TENANT_ADMIN",
        "tenantId": {"entityType": "TENANT", "id": tenant_id},
    }


def create_tenant_admin(
    client: TestClient, sysadmin_headers: Headers, tenant_id: str | None = None
) -> tuple[str, Headers]:
    """An activated, logged-in tenant admin (of a new tenant unless `tenant_id` is given)."""
    if tenant_id is None:
        tenant_id = create_tenant(client, sysadmin_headers)["id"]["id"]
    user = create_user(client, sysadmin_headers, tenant_admin_body(tenant_id))
    return user["id"]["id"], activate(client, sysadmin_headers, user["id"]["id"])


def customer_user_body(customer_id: str, email: str | None = None) -> dict[str, Any]:
    return {
        "email": email or unique_email("cu"),
        "authority": "CUSTOMER_USER",
        "customerId": {"entityType": "CUSTOMER", "id": customer_id},
    }


def create_customer_user(
    client: TestClient, tenant_headers: Headers, customer_id: str
) -> tuple[str, Headers]:
    """An activated, logged-in customer user of `customer_id`."""
    user = create_user(client, tenant_headers, customer_user_body(customer_id))
    return user["id"]["id"], activate(client, tenant_headers, user["id"]["id"])


def row_counts(container: Container) -> dict[str, int]:
    """Rows per table: compared before and after a request that must change nothing."""
    with container.db.read() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def assert_error(response: Any, status: int, message: str | None = None) -> dict[str, Any]:
    """ThingsBoard's error body {status, message, errorCode, timestamp}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"status", "message", "errorCode", "timestamp"}, body
    assert body["status"] == status
    assert isinstance(body["errorCode"], int) and isinstance(body["timestamp"], int)
    if message is not None:
        assert body["message"] == message, body
    return body  # type: ignore[no-any-return]
