"""Tenants, tenant profiles, customers and users over HTTP (spec thingsboard-platform §0, §2, §7)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.helpers import (
    PASSWORD,
    Headers,
    assert_error,
    create_customer,
    create_customer_user,
    create_tenant,
    create_tenant_admin,
    create_user,
    customer_user_body,
    login,
    row_counts,
    tenant_admin_body,
    unique_email,
)
from tests.support import SYSADMIN_EMAIL, outbox
from twostep.bootstrap import Container
from twostep.domain.ids import NULL_UUID, new_id, now_ms
from twostep.storage import tables as t

DENIED = "You don't have permission to perform this operation!"
PAGE = "pageSize=100&page=0"


@dataclass
class World:
    """Tenant A (admin, customer C with user cu), tenant B (admin) and the sysadmin."""

    sys: Headers
    tenant_a: str
    admin_a: str
    a: Headers
    customer: str
    cu_id: str
    cu: Headers
    tenant_b: str
    admin_b: str
    b: Headers


@pytest.fixture
def world(client: TestClient, sysadmin_headers: Headers) -> World:
    tenant_a = create_tenant(client, sysadmin_headers, "Tenant A")["id"]["id"]
    admin_a, a = create_tenant_admin(client, sysadmin_headers, tenant_a)
    customer = create_customer(client, a, "Customer C")["id"]["id"]
    cu_id, cu = create_customer_user(client, a, customer)
    tenant_b = create_tenant(client, sysadmin_headers, "Tenant B")["id"]["id"]
    admin_b, b = create_tenant_admin(client, sysadmin_headers, tenant_b)
    return World(sysadmin_headers, tenant_a, admin_a, a, customer, cu_id, cu, tenant_b, admin_b, b)


def _sysadmin_id(container: Container) -> uuid.UUID:
    with container.db.read() as conn:
        return conn.execute(
            select(t.user.c.id).where(t.user.c.email == SYSADMIN_EMAIL)
        ).scalar_one()


def _ids(page: dict[str, Any]) -> set[str]:
    return {item["id"]["id"] for item in page["data"]}


# -- tenants ------------------------------------------------------------------------------------


def test_tenant_create_shape_region_and_default_profile(
    client: TestClient, sysadmin_headers: Headers
) -> None:
    r = client.post(
        "/api/tenant",
        json={"title": "Acme", "region": "EU", "name": "ignored", "createdTime": 1, "city": "Oslo"},
        headers=sysadmin_headers,
    )
    assert r.status_code == 200, r.text
    tenant = r.json()
    assert tenant["region"] == "Global"  # forced
    assert tenant["name"] == "Acme" and tenant["title"] == "Acme" and tenant["version"] == 1
    assert (
        tenant["city"] == "Oslo" and tenant["country"] is None and tenant["additionalInfo"] is None
    )
    assert tenant["createdTime"] > 1
    assert set(tenant) == {
        "id",
        "createdTime",
        "additionalInfo",
        "country",
        "state",
        "city",
        "address",
        "address2",
        "zip",
        "phone",
        "email",
        "title",
        "region",
        "tenantProfileId",
        "version",
        "name",
    }
    default = client.get("/api/tenantProfileInfo/default", headers=sysadmin_headers).json()
    assert tenant["tenantProfileId"] == default["id"]
    assert default["id"]["entityType"] == "TENANT_PROFILE" and default["name"] == "Default"

    info = client.get(f"/api/tenant/info/{tenant['id']['id']}", headers=sysadmin_headers).json()
    assert info["tenantProfileName"] == "Default" and info["title"] == "Acme"


def test_tenant_update_versions_and_conflict(client: TestClient, sysadmin_headers: Headers) -> None:
    tenant = create_tenant(client, sysadmin_headers, "V1")
    tenant["title"] = "V2"
    r = client.post("/api/tenant", json=tenant, headers=sysadmin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["title"] == "V2"

    stale = {**tenant, "title": "V3"}  # still version 1
    body = assert_error(
        client.post("/api/tenant", json=stale, headers=sysadmin_headers),
        409,
        "Tenant was already changed by someone else",
    )
    assert body["errorCode"] == 35

    no_version = {k: v for k, v in tenant.items() if k != "version"} | {"title": "V4"}
    r = client.post("/api/tenant", json=no_version, headers=sysadmin_headers)
    assert r.status_code == 200 and r.json()["version"] == 3  # absent version overwrites

    ghost = {"id": {"entityType": "TENANT", "id": str(uuid.uuid4())}, "title": "Ghost"}
    assert_error(
        client.post("/api/tenant", json=ghost, headers=sysadmin_headers),
        400,
        "Can't update non existing tenant!",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Tenant title should be specified!"),
        ({"title": "  "}, "Tenant title should be specified!"),
        ({"title": "T", "email": "nope"}, "Invalid email address format 'nope'!"),
        ({"title": "x" * 256}, "Validation error: title length must be equal or less than 255"),
        ({"title": "<script>alert(1)</script>"}, "Validation error: title is malformed"),
        (
            {
                "title": "T",
                "tenantProfileId": {"entityType": "TENANT_PROFILE", "id": str(uuid.uuid4())},
            },
            "Tenant is referencing to non-existent tenant profile!",
        ),
    ],
)
def test_tenant_validation(
    client: TestClient,
    sysadmin_headers: Headers,
    container: Container,
    body: dict[str, Any],
    message: str,
) -> None:
    before = row_counts(container)
    assert_error(client.post("/api/tenant", json=body, headers=sysadmin_headers), 400, message)
    assert row_counts(container) == before


def test_tenant_read_permissions(client: TestClient, world: World) -> None:
    own = client.get(f"/api/tenant/{world.tenant_a}", headers=world.a)
    assert own.status_code == 200 and own.json()["title"] == "Tenant A"
    assert (
        client.get(f"/api/tenant/info/{world.tenant_a}", headers=world.a).json()[
            "tenantProfileName"
        ]
        == "Default"
    )
    # 404 before 403: another tenant exists (403), a random id does not (404)
    assert_error(client.get(f"/api/tenant/{world.tenant_b}", headers=world.a), 403, DENIED)
    assert_error(client.get(f"/api/tenant/info/{world.tenant_b}", headers=world.a), 403, DENIED)
    ghost = uuid.uuid4()
    assert_error(
        client.get(f"/api/tenant/{ghost}", headers=world.a),
        404,
        f"Tenant with id [{ghost}] is not found",
    )
    assert_error(client.get("/api/tenant/abc", headers=world.a), 400, "Invalid UUID string: abc")
    assert_error(client.get(f"/api/tenant/{world.tenant_a}", headers=world.cu), 403, DENIED)
    assert_error(client.post("/api/tenant", json={"title": "X"}, headers=world.a), 403, DENIED)
    assert_error(client.get(f"/api/tenants?{PAGE}", headers=world.a), 403, DENIED)
    assert_error(client.get(f"/api/tenant/{world.tenant_a}"), 401)


def test_tenant_pages_and_paging_validation(client: TestClient, sysadmin_headers: Headers) -> None:
    for title in ("Gamma", "alpha", "Beta"):
        create_tenant(client, sysadmin_headers, title)
    page = client.get(
        "/api/tenants?pageSize=2&page=0&sortProperty=title&sortOrder=desc", headers=sysadmin_headers
    ).json()
    assert [d["title"] for d in page["data"]] == ["alpha", "Gamma"]  # byte order on both backends
    assert page["totalElements"] == 3 and page["totalPages"] == 2 and page["hasNext"] is True
    last = client.get(
        "/api/tenants?pageSize=2&page=1&sortProperty=title&sortOrder=DESC", headers=sysadmin_headers
    ).json()
    assert [d["title"] for d in last["data"]] == ["Beta"] and last["hasNext"] is False
    found = client.get(
        "/api/tenants?pageSize=10&page=0&textSearch=ALP", headers=sysadmin_headers
    ).json()
    assert [d["title"] for d in found["data"]] == ["alpha"]
    infos = client.get(
        "/api/tenantInfos?pageSize=10&page=0&sortProperty=tenantProfileName",
        headers=sysadmin_headers,
    ).json()
    assert infos["totalElements"] == 3 and {d["tenantProfileName"] for d in infos["data"]} == {
        "Default"
    }
    empty = client.get(
        "/api/tenants?pageSize=10&page=0&textSearch=zzz", headers=sysadmin_headers
    ).json()
    assert empty == {"data": [], "totalPages": 0, "totalElements": 0, "hasNext": False}

    for query, message in [
        (
            "pageSize=0&page=0",
            "Incorrect page link page size '0'. Page size must be greater than zero.",
        ),
        ("pageSize=10&page=-1", "Incorrect page link page '-1'. Page must be positive integer."),
        (
            "pageSize=10&page=0&sortOrder=UP",
            "Unsupported sort order 'UP'! Only 'ASC' or 'DESC' types are allowed.",
        ),
        ("pageSize=10&page=0&sortProperty=title;drop", "Invalid sort property"),
        ("pageSize=10&page=0&sortProperty=password", "Invalid sort property: password"),
        ("pageSize=ten&page=0", "Failed to convert value 'ten' to int for 'pageSize'"),
        ("page=0", None),
    ]:
        assert_error(client.get(f"/api/tenants?{query}", headers=sysadmin_headers), 400, message)


def test_tenants_list_filtered_by_permission(client: TestClient, world: World) -> None:
    ids = f"{world.tenant_a},{world.tenant_b},{uuid.uuid4()}"
    assert {
        x["id"]["id"]
        for x in client.get(f"/api/tenants/list?tenantIds={ids}", headers=world.sys).json()
    } == {world.tenant_a, world.tenant_b}
    assert [
        x["id"]["id"]
        for x in client.get(f"/api/tenants/list?tenantIds={ids}", headers=world.a).json()
    ] == [world.tenant_a]
    assert_error(
        client.get("/api/tenants/list?tenantIds=x", headers=world.a), 400, "Invalid UUID string: x"
    )
    assert_error(client.get("/api/tenants/list", headers=world.a), 400)


def test_tenant_delete_cascades_and_revokes(
    client: TestClient, world: World, container: Container
) -> None:
    with container.db.transaction() as conn:  # a 2FA config that must go with its user
        conn.execute(
            t.twofa_config.insert().values(
                id=new_id(),
                user_id=uuid.UUID(world.admin_a),
                provider_type="TOTP",
                position=0,
                use_by_default=True,
                created_time=now_ms(),
            )
        )
    assert_error(client.delete(f"/api/tenant/{world.tenant_a}", headers=world.b), 403, DENIED)
    assert_error(client.delete(f"/api/tenant/{uuid.uuid4()}", headers=world.b), 404)
    assert_error(client.delete(f"/api/tenant/{world.tenant_a}", headers=world.cu), 403, DENIED)

    r = client.delete(f"/api/tenant/{world.tenant_a}", headers=world.sys)
    assert r.status_code == 200 and r.content == b""
    assert_error(client.get(f"/api/tenant/{world.tenant_a}", headers=world.sys), 404)
    assert_error(client.get(f"/api/user/{world.admin_a}", headers=world.a), 401)  # token revoked
    assert_error(client.get(f"/api/customer/{world.customer}", headers=world.cu), 401)
    with container.db.read() as conn:
        tid = uuid.UUID(world.tenant_a)
        assert conn.execute(select(t.user).where(t.user.c.tenant_id == tid)).first() is None
        assert conn.execute(select(t.customer).where(t.customer.c.tenant_id == tid)).first() is None
        assert conn.execute(select(t.twofa_config)).first() is None
        assert (
            conn.execute(
                select(t.user_credentials).where(
                    t.user_credentials.c.user_id == uuid.UUID(world.cu_id)
                )
            ).first()
            is None
        )
    # tenant B untouched; a tenant admin may delete its own tenant
    assert client.get(f"/api/tenant/{world.tenant_b}", headers=world.b).status_code == 200
    assert client.delete(f"/api/tenant/{world.tenant_b}", headers=world.b).status_code == 200


# -- tenant profiles ----------------------------------------------------------------------------


def test_tenant_profiles_read_sysadmin_only(client: TestClient, world: World) -> None:
    info = client.get("/api/tenantProfileInfo/default", headers=world.sys).json()
    pid = info["id"]["id"]
    profile = client.get(f"/api/tenantProfile/{pid}", headers=world.sys).json()
    assert profile["default"] is True and profile["name"] == "Default"
    assert profile["profileData"]["configuration"]["type"] == "DEFAULT"
    assert client.get(f"/api/tenantProfileInfo/{pid}", headers=world.sys).json() == info
    page = client.get(
        f"/api/tenantProfiles?{PAGE}&sortProperty=isDefault", headers=world.sys
    ).json()
    assert [p["id"]["id"] for p in page["data"]] == [pid]
    infos = client.get(f"/api/tenantProfileInfos?{PAGE}&textSearch=def", headers=world.sys).json()
    assert infos["data"] == [info]
    ghost = uuid.uuid4()
    assert_error(
        client.get(f"/api/tenantProfile/{ghost}", headers=world.sys),
        404,
        f"Tenant profile with id [{ghost}] is not found",
    )
    for headers in (world.a, world.cu):
        assert_error(client.get(f"/api/tenantProfile/{pid}", headers=headers), 403, DENIED)
        assert_error(client.get("/api/tenantProfileInfo/default", headers=headers), 403, DENIED)


# -- customers ----------------------------------------------------------------------------------


def test_customer_create_forces_tenant_and_audits(
    client: TestClient, world: World, container: Container
) -> None:
    body = {
        "title": "Acme",
        "tenantId": {"entityType": "TENANT", "id": world.tenant_b},
        "email": "a@b.io",
    }
    customer = client.post("/api/customer", json=body, headers=world.a).json()
    assert customer["tenantId"]["id"] == world.tenant_a  # forced to the caller's tenant
    assert (
        customer["name"] == "Acme" and customer["version"] == 1 and customer["externalId"] is None
    )
    with container.db.read() as conn:
        entry = conn.execute(
            select(t.audit_log).where(t.audit_log.c.entity_id == uuid.UUID(customer["id"]["id"]))
        ).one()
    assert entry.action_type == "ADDED" and entry.action_data["entity"]["title"] == "Acme"
    assert entry.tenant_id == uuid.UUID(world.tenant_a)

    assert_error(
        client.post("/api/customer", json={"title": "Acme"}, headers=world.a),
        400,
        "Customer with such title already exists!",
    )
    assert (
        client.post("/api/customer", json={"title": "Acme"}, headers=world.b).status_code == 200
    )  # per tenant
    assert_error(
        client.post("/api/customer", json={"title": "Public"}, headers=world.a),
        400,
        "'Public' title for customer is system reserved!",
    )
    assert_error(
        client.post("/api/customer", json={}, headers=world.a),
        400,
        "Customer title should be specified!",
    )
    uniq = client.post(
        "/api/customer?nameConflictPolicy=UNIQUIFY&uniquifyStrategy=INCREMENTAL",
        json={"title": "Acme"},
        headers=world.a,
    )
    assert uniq.status_code == 200 and uniq.json()["title"] == "Acme_1"
    assert_error(
        client.post("/api/customer?nameConflictPolicy=MAYBE", json={"title": "Z"}, headers=world.a),
        400,
    )
    for headers in (world.sys, world.cu):
        assert_error(
            client.post("/api/customer", json={"title": "New"}, headers=headers), 403, DENIED
        )


def test_customer_update_versions(client: TestClient, world: World) -> None:
    customer = client.get(f"/api/customer/{world.customer}", headers=world.a).json()
    r = client.post("/api/customer", json={**customer, "city": "Bergen"}, headers=world.a)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["city"] == "Bergen"
    assert_error(
        client.post("/api/customer", json={**customer, "city": "Oslo"}, headers=world.a),
        409,
        "Customer was already changed by someone else",
    )
    assert_error(
        client.post("/api/customer", json={**customer, "version": 2}, headers=world.b), 403, DENIED
    )
    ghost = {"id": {"entityType": "CUSTOMER", "id": str(uuid.uuid4())}, "title": "Ghost"}
    assert_error(
        client.post("/api/customer", json=ghost, headers=world.a),
        400,
        "Can't update non existing customer!",
    )


def test_customer_reads(client: TestClient, world: World) -> None:
    other = create_customer(client, world.a, "Other")["id"]["id"]
    for headers in (world.a, world.cu):
        assert (
            client.get(f"/api/customer/{world.customer}", headers=headers).json()["title"]
            == "Customer C"
        )
        assert client.get(f"/api/customer/{world.customer}/shortInfo", headers=headers).json() == {
            "title": "Customer C",
            "isPublic": False,
        }
        r = client.get(f"/api/customer/{world.customer}/title", headers=headers)
        assert (
            r.status_code == 200
            and r.text == "Customer C"
            and r.headers["content-type"].startswith("text/plain")
        )
    assert_error(client.get(f"/api/customer/{other}", headers=world.cu), 403, DENIED)
    assert_error(client.get(f"/api/customer/{world.customer}", headers=world.b), 403, DENIED)
    assert_error(client.get(f"/api/customer/{world.customer}", headers=world.sys), 403, DENIED)
    ghost = uuid.uuid4()
    assert_error(
        client.get(f"/api/customer/{ghost}", headers=world.b),
        404,
        f"Customer with id [{ghost}] is not found",
    )

    assert (
        client.get("/api/tenant/customers?customerTitle=Other", headers=world.a).json()["id"]["id"]
        == other
    )
    # a NUL never reaches PostgreSQL (a 500 there): refused with every address that holds one
    assert_error(client.get("/api/tenant/customers?customerTitle=a%00b", headers=world.a), 400)
    assert_error(
        client.get("/api/tenant/customers?customerTitle=Other", headers=world.b),
        404,
        "Customer with title [Other] is not found",
    )
    page = client.get(f"/api/customers?{PAGE}&sortProperty=title", headers=world.a).json()
    assert [c["title"] for c in page["data"]] == ["Customer C", "Other"]
    assert client.get(f"/api/customers?{PAGE}", headers=world.b).json()["totalElements"] == 0
    listed = client.get(
        f"/api/customers/list?customerIds={world.customer},{other}", headers=world.b
    ).json()
    assert listed == []
    assert (
        len(
            client.get(
                f"/api/customers/list?customerIds={world.customer},{other}", headers=world.a
            ).json()
        )
        == 2
    )


def test_customer_delete_removes_users(
    client: TestClient, world: World, container: Container
) -> None:
    assert_error(client.delete(f"/api/customer/{world.customer}", headers=world.b), 403, DENIED)
    assert_error(client.delete(f"/api/customer/{world.customer}", headers=world.cu), 403, DENIED)
    assert client.delete(f"/api/customer/{world.customer}", headers=world.a).status_code == 200
    assert_error(client.get(f"/api/customer/{world.customer}", headers=world.a), 404)
    assert_error(
        client.get(f"/api/user/{world.cu_id}", headers=world.cu), 401
    )  # revoked with the user
    assert_error(client.get(f"/api/user/{world.cu_id}", headers=world.a), 404)
    with container.db.read() as conn:
        entry = conn.execute(
            select(t.audit_log).where(
                t.audit_log.c.action_type == "DELETED", t.audit_log.c.entity_type == "CUSTOMER"
            )
        ).one()
    assert entry.action_data == {"entityId": world.customer}


# -- users: creation, validation, versions --------------------------------------------------------


def test_user_creation_matrix(client: TestClient, world: World) -> None:
    def post(headers: Headers, body: dict[str, Any]) -> Any:
        return client.post("/api/user?sendActivationMail=false", json=body, headers=headers)

    # SYS_ADMIN: tenant admins of any tenant and other sysadmins; never customer users
    assert post(world.sys, tenant_admin_body(world.tenant_b)).status_code == 200
    sysadmin2 = post(world.sys, {"email": unique_email("sys"), "authority": "SYS_ADMIN"}).json()
    assert sysadmin2["tenantId"]["id"] == str(NULL_UUID) and sysadmin2["customerId"]["id"] == str(
        NULL_UUID
    )
    assert_error(post(world.sys, customer_user_body(world.customer)), 403, DENIED)
    # TENANT_ADMIN: its tenant's admins (a foreign tenantId is overridden) and customer users
    other_admin = post(world.a, tenant_admin_body(world.tenant_b)).json()
    assert other_admin["tenantId"]["id"] == world.tenant_a
    assert post(world.a, customer_user_body(world.customer)).status_code == 200
    assert_error(post(world.a, {"email": unique_email(), "authority": "SYS_ADMIN"}), 403, DENIED)
    assert_error(
        post(world.b, customer_user_body(world.customer)),
        400,
        "User can't be assigned to customer from different tenant!",
    )
    # CUSTOMER_USER: nobody, but may update itself
    assert_error(post(world.cu, customer_user_body(world.customer)), 403, DENIED)
    me = client.get(f"/api/user/{world.cu_id}", headers=world.cu).json()
    r = client.post("/api/user", json={**me, "firstName": "Cu"}, headers=world.cu)
    assert r.status_code == 200 and r.json()["firstName"] == "Cu" and r.json()["version"] == 2
    assert "userActivated" not in (r.json()["additionalInfo"] or {})  # computed keys are not stored
    peer = create_user(client, world.a, customer_user_body(world.customer))
    assert_error(
        client.post("/api/user", json={**peer, "firstName": "X"}, headers=world.cu), 403, DENIED
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"authority": "TENANT_ADMIN"}, "User email should be specified!"),
        ({"email": "a@b", "authority": "TENANT_ADMIN"}, "Invalid email address format 'a@b'!"),
        ({"email": "ok@example.com"}, "User authority isn't defined!"),
        (
            {"email": "ok@example.com", "authority": "TENANT_ADMIN", "tenantId": None},
            "Tenant administrator should be assigned to tenant!",
        ),
        (
            {"email": "ok@example.com", "authority": "SYS_ADMIN", "tenantId": "TENANT"},
            "System administrator can't be assigned neither to tenant nor to customer!",
        ),
        (
            {"email": "ok@example.com", "authority": "TENANT_ADMIN", "tenantId": "GHOST"},
            "User is referencing to non-existent tenant!",
        ),
        (
            {
                "email": "ok@example.com",
                "authority": "TENANT_ADMIN",
                "tenantId": "TENANT",
                "customerId": "GHOST",
            },
            "Tenant administrator can't be assigned to customer!",
        ),
        (
            {
                "email": "ok@example.com",
                "authority": "TENANT_ADMIN",
                "tenantId": "TENANT",
                "firstName": "f" * 256,
                "lastName": "<b>x</b>",
            },
            "Validation error: first name length must be equal or less than 255, last name is malformed",
        ),
        (
            {"email": "a" * 250 + "@example.com", "authority": "SYS_ADMIN"},
            "Validation error: email length must be equal or less than 255",
        ),
        (
            {"email": SYSADMIN_EMAIL, "authority": "SYS_ADMIN"},
            f"User with email '{SYSADMIN_EMAIL}' already present in database!",
        ),
    ],
)
def test_user_validation_messages(
    client: TestClient,
    sysadmin_headers: Headers,
    container: Container,
    body: dict[str, Any],
    message: str,
) -> None:
    tenant = create_tenant(client, sysadmin_headers)["id"]["id"]
    ids = {
        "TENANT": {"entityType": "TENANT", "id": tenant},
        "GHOST": {
            "entityType": "CUSTOMER" if "customerId" in body else "TENANT",
            "id": str(uuid.uuid4()),
        },
    }
    body = {
        k: ids.get(v, v) if isinstance(v, str) and k.endswith("Id") else v for k, v in body.items()
    }
    before = row_counts(container)
    assert_error(client.post("/api/user", json=body, headers=sysadmin_headers), 400, message)
    assert row_counts(container) == before


def test_user_update_rules_and_versions(client: TestClient, world: World) -> None:
    admin = client.get(f"/api/user/{world.admin_a}", headers=world.a).json()
    r = client.post("/api/user", json={**admin, "lastName": "Admin"}, headers=world.a)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert_error(
        client.post("/api/user", json={**admin, "lastName": "Stale"}, headers=world.a),
        409,
        "User was already changed by someone else",
    )
    fresh = r.json()
    assert_error(
        client.post(
            "/api/user",
            json={
                **fresh,
                "authority": "CUSTOMER_USER",
                "customerId": {"entityType": "CUSTOMER", "id": world.customer},
            },
            headers=world.a,
        ),
        400,
        "Can't update user authority!",
    )
    moved = {**fresh, "tenantId": {"entityType": "TENANT", "id": world.tenant_b}}
    assert_error(
        client.post("/api/user", json=moved, headers=world.sys), 400, "Can't update user tenant id!"
    )
    taken = {**fresh, "email": SYSADMIN_EMAIL}
    assert_error(
        client.post("/api/user", json=taken, headers=world.a),
        400,
        f"User with email '{SYSADMIN_EMAIL}' already present in database!",
    )
    ghost = {**fresh, "id": {"entityType": "USER", "id": str(uuid.uuid4())}}
    assert_error(client.post("/api/user", json=ghost, headers=world.a), 404)
    foreign = client.get(f"/api/user/{world.admin_b}", headers=world.b).json()
    assert_error(
        client.post("/api/user", json={**foreign, "firstName": "X"}, headers=world.a), 403, DENIED
    )


def test_activation_mail_default_and_link(
    client: TestClient, world: World, container: Container
) -> None:
    email = unique_email("mailed")
    r = client.post("/api/user", json=tenant_admin_body(world.tenant_a, email), headers=world.a)
    assert r.status_code == 200, r.text
    mails = [m for m in outbox(container.config) if m["to"] == email]
    assert len(mails) == 1 and mails[0]["subject"] == "Your account activation on Thingsboard"
    link = client.get(f"/api/user/{r.json()['id']['id']}/activationLink", headers=world.a)
    assert link.headers["content-type"].startswith("text/plain")
    assert link.text.startswith("http://testserver:80/api/noauth/activate?activateToken=")
    assert link.text in mails[0]["body"]
    assert len(parse_qs(urlparse(link.text).query)["activateToken"][0]) == 40
    info = client.get(
        f"/api/user/{r.json()['id']['id']}/activationLinkInfo", headers=world.a
    ).json()
    assert info["value"] == link.text and 23 * 3600_000 < info["ttlMs"] <= 24 * 3600_000

    user = client.get(f"/api/user/{r.json()['id']['id']}", headers=world.a).json()["additionalInfo"]
    assert user == {"userCredentialsEnabled": False, "userActivated": False, "lastLoginTs": None}

    container.config.base_url = "https://2fa.example.com/"
    assert client.get(
        f"/api/user/{r.json()['id']['id']}/activationLink", headers=world.a
    ).text.startswith("https://2fa.example.com/api/noauth/activate?activateToken=")
    assert_error(
        client.get(f"/api/user/{world.admin_a}/activationLink", headers=world.a),
        400,
        "User is already activated!",
    )
    assert_error(
        client.get(f"/api/user/{world.admin_b}/activationLink", headers=world.a), 403, DENIED
    )
    assert_error(
        client.get(f"/api/user/{world.cu_id}/activationLink", headers=world.cu), 403, DENIED
    )


def test_activation_mail_failure_removes_the_user(
    client: TestClient, world: World, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.config, "outbox", False)  # no mail server configured: sends fail
    before = row_counts(container)
    r = client.post("/api/user", json=tenant_admin_body(world.tenant_a), headers=world.a)
    body = assert_error(r, 500, "Couldn't send user activation email")
    assert body["errorCode"] == 2
    after = row_counts(container)
    assert (
        after["tb_user"] == before["tb_user"]
        and after["user_credentials"] == before["user_credentials"]
    )
    with container.db.read() as conn:
        entry = conn.execute(
            select(t.audit_log).where(t.audit_log.c.action_status == "FAILURE")
        ).one()
    assert entry.action_type == "ADDED" and entry.entity_id == NULL_UUID
    # sending again to an existing user fails the same way and changes nothing
    mail = client.post(f"/api/user/sendActivationMail?email={unique_email()}", headers=world.a)
    assert_error(mail, 404, "Requested item wasn't found!")


def test_send_activation_mail(client: TestClient, world: World, container: Container) -> None:
    email = unique_email("later")
    create_user(client, world.a, tenant_admin_body(world.tenant_a, email))
    r = client.post(f"/api/user/sendActivationMail?email={email}", headers=world.a)
    assert r.status_code == 200 and r.content == b""
    assert [m["to"] for m in outbox(container.config)] == [email]
    assert_error(
        client.post(f"/api/user/sendActivationMail?email={email}", headers=world.b), 403, DENIED
    )
    admin_a_email = client.get(f"/api/user/{world.admin_a}", headers=world.a).json()["email"]
    assert_error(
        client.post(f"/api/user/sendActivationMail?email={admin_a_email}", headers=world.a),
        400,
        "User is already activated!",
    )
    assert_error(client.post("/api/user/sendActivationMail", headers=world.a), 400)
    assert_error(client.post("/api/user/sendActivationMail?email=a%00b", headers=world.a), 400)


# -- users: reads and lists -----------------------------------------------------------------------


def test_user_reads_404_before_403(client: TestClient, world: World, container: Container) -> None:
    me = client.get(f"/api/user/{world.admin_a}", headers=world.a).json()
    assert me["additionalInfo"]["userActivated"] is True and me["additionalInfo"]["lastLoginTs"] > 0
    assert client.get(f"/api/user/{world.cu_id}", headers=world.a).status_code == 200
    assert client.get(f"/api/user/{world.admin_a}", headers=world.sys).status_code == 200
    assert_error(client.get(f"/api/user/{world.admin_b}", headers=world.a), 403, DENIED)
    assert_error(client.get(f"/api/user/{world.cu_id}", headers=world.sys), 403, DENIED)
    assert_error(client.get(f"/api/user/{world.admin_a}", headers=world.cu), 403, DENIED)
    assert_error(client.get(f"/api/user/{_sysadmin_id(container)}", headers=world.a), 403, DENIED)
    ghost = uuid.uuid4()
    assert_error(
        client.get(f"/api/user/{ghost}", headers=world.a),
        404,
        f"User with id [{ghost}] is not found",
    )
    assert_error(client.get("/api/user/abc", headers=world.a), 400, "Invalid UUID string: abc")


def test_user_lists(client: TestClient, world: World) -> None:
    second_admin = create_user(
        client, world.a, tenant_admin_body(world.tenant_a, "zz-admin@example.com")
    )["id"]["id"]
    tenant_users = client.get(f"/api/users?{PAGE}", headers=world.a).json()
    assert _ids(tenant_users) == {world.admin_a, world.cu_id, second_admin}
    assert (
        client.get(f"/api/user/users?{PAGE}", headers=world.a).json() == tenant_users
    )  # 4.4 client alias
    assert _ids(client.get(f"/api/users?{PAGE}", headers=world.cu).json()) == {world.cu_id}
    assert_error(client.get(f"/api/users?{PAGE}", headers=world.sys), 403, DENIED)
    found = client.get(
        f"/api/users?{PAGE}&textSearch=ZZ-ADMIN&sortProperty=email", headers=world.a
    ).json()
    assert _ids(found) == {second_admin}

    info = client.get(f"/api/users/info?{PAGE}", headers=world.cu).json()
    assert set(info["data"][0]) == {"id", "email", "firstName", "lastName"}

    admins = client.get(f"/api/tenant/{world.tenant_a}/users?{PAGE}", headers=world.sys).json()
    assert _ids(admins) == {world.admin_a, second_admin}
    assert (
        client.get(f"/api/tenant/{uuid.uuid4()}/users?{PAGE}", headers=world.sys).json()[
            "totalElements"
        ]
        == 0
    )
    assert_error(
        client.get(f"/api/tenant/{world.tenant_a}/users?{PAGE}", headers=world.a), 403, DENIED
    )

    assert _ids(
        client.get(f"/api/customer/{world.customer}/users?{PAGE}", headers=world.a).json()
    ) == {world.cu_id}
    assert_error(
        client.get(f"/api/customer/{world.customer}/users?{PAGE}", headers=world.b), 403, DENIED
    )
    assert_error(client.get(f"/api/customer/{uuid.uuid4()}/users?{PAGE}", headers=world.b), 404)
    assert _ids(client.get(f"/api/customer/users?{PAGE}", headers=world.a).json()) == {world.cu_id}
    assert client.get(f"/api/customer/users?{PAGE}", headers=world.b).json()["totalElements"] == 0

    ids = f"{world.admin_a},{world.cu_id},{world.admin_b}"
    assert {
        u["id"]["id"] for u in client.get(f"/api/users/list?userIds={ids}", headers=world.a).json()
    } == {world.admin_a, world.cu_id}
    assert [
        u["id"]["id"] for u in client.get(f"/api/users/list?userIds={ids}", headers=world.cu).json()
    ] == [world.cu_id]


def test_paging_page_beyond_end(client: TestClient, world: World) -> None:
    page = client.get("/api/users?pageSize=1&page=5", headers=world.a).json()
    assert (
        page["data"] == []
        and page["totalElements"] == 2
        and page["totalPages"] == 2
        and page["hasNext"] is False
    )


# -- users: delete, credentials, login-as -------------------------------------------------------


def test_delete_user_guards_and_revocation(
    client: TestClient, world: World, container: Container
) -> None:
    assert_error(
        client.delete(f"/api/user/{_sysadmin_id(container)}", headers=world.sys),
        403,
        "Sysadmin is not allowed to delete himself",
    )
    assert_error(
        client.delete(f"/api/user/{world.admin_a}", headers=world.a),
        400,
        "At least one tenant administrator must remain!",
    )
    assert_error(client.delete(f"/api/user/{world.admin_b}", headers=world.a), 403, DENIED)
    assert_error(client.delete(f"/api/user/{world.cu_id}", headers=world.cu), 403, DENIED)
    assert_error(client.delete(f"/api/user/{uuid.uuid4()}", headers=world.a), 404)

    second_id, second = create_tenant_admin(client, world.sys, world.tenant_a)
    assert client.delete(f"/api/user/{world.admin_a}", headers=second).status_code == 200
    assert_error(client.get(f"/api/user/{second_id}", headers=world.a), 401)  # revoked
    with container.db.read() as conn:
        entry = conn.execute(
            select(t.audit_log).where(t.audit_log.c.action_type == "DELETED")
        ).one()
    assert entry.entity_id == uuid.UUID(world.admin_a) and entry.action_data == {
        "entityId": str(NULL_UUID)
    }
    assert client.delete(f"/api/user/{world.cu_id}", headers=second).status_code == 200
    assert_error(client.get(f"/api/users?{PAGE}", headers=world.cu), 401)


def test_credentials_disable_enable_unlocks(
    client: TestClient, world: World, container: Container
) -> None:
    cu_email = client.get(f"/api/user/{world.cu_id}", headers=world.a).json()["email"]
    assert_error(
        client.post(
            f"/api/user/{world.cu_id}/userCredentialsEnabled?userCredentialsEnabled=false",
            headers=world.b,
        ),
        403,
        DENIED,
    )
    r = client.post(
        f"/api/user/{world.cu_id}/userCredentialsEnabled?userCredentialsEnabled=false",
        headers=world.a,
    )
    assert r.status_code == 200 and r.content == b""
    assert_error(client.get(f"/api/users?{PAGE}", headers=world.cu), 401)  # tokens revoked
    assert (
        client.post(
            "/api/auth/login", json={"username": cu_email, "password": PASSWORD}
        ).status_code
        == 401
    )
    assert (
        client.get(f"/api/user/{world.cu_id}", headers=world.a).json()["additionalInfo"][
            "userCredentialsEnabled"
        ]
        is False
    )

    with container.db.transaction() as conn:  # as a password and a 2FA lockout leave them
        conn.execute(
            update(t.user_credentials)
            .where(t.user_credentials.c.user_id == uuid.UUID(world.cu_id))
            .values(failed_login_attempts=7, twofa_failed_attempts=5)
        )
    assert (
        client.post(f"/api/user/{world.cu_id}/userCredentialsEnabled", headers=world.a).status_code
        == 200
    )
    with container.db.read() as conn:
        creds = conn.execute(
            select(t.user_credentials).where(t.user_credentials.c.user_id == uuid.UUID(world.cu_id))
        ).one()
    assert creds.enabled and creds.failed_login_attempts == 0 and creds.twofa_failed_attempts == 0
    cu = login(client, cu_email)

    fresh = create_user(client, world.a, customer_user_body(world.customer))["id"]["id"]
    assert_error(
        client.post(
            f"/api/user/{fresh}/userCredentialsEnabled?userCredentialsEnabled=true", headers=world.a
        ),
        400,
        "Enabled user credentials should have password!",
    )
    assert_error(
        client.post(
            f"/api/user/{fresh}/userCredentialsEnabled?userCredentialsEnabled=maybe",
            headers=world.a,
        ),
        400,
    )
    assert_error(
        client.post(f"/api/user/{world.cu_id}/userCredentialsEnabled", headers=cu), 403, DENIED
    )


def test_login_as_user_is_disabled(client: TestClient, world: World) -> None:
    r = client.get("/api/user/tokenAccessEnabled", headers=world.sys)
    assert r.status_code == 200 and r.json() is False and r.text == "false"
    assert client.get("/api/user/tokenAccessEnabled", headers=world.a).json() is False
    for headers, target in ((world.sys, world.admin_a), (world.a, world.cu_id)):
        assert_error(client.get(f"/api/user/{target}/token", headers=headers), 403, DENIED)
    assert_error(client.get("/api/user/tokenAccessEnabled", headers=world.cu), 403, DENIED)


# -- bad input: 4xx in the error shape, nothing written --------------------------------------------

_TA = {"email": "new@example.com", "authority": "TENANT_ADMIN"}
_DEEP = '{"title": "T", "additionalInfo": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"

BAD_INPUT = [
    # (who, path, raw body or JSON, status)
    ("sys", "/api/user", b"{not json", 400),
    ("sys", "/api/user", b"", 400),
    ("sys", "/api/user", b"[1, 2]", 400),
    ("sys", "/api/user", b"null", 400),
    ("sys", "/api/user", {**_TA, "email": 123}, 400),
    ("sys", "/api/user", {**_TA, "authority": "FOO"}, 400),
    ("sys", "/api/user", {**_TA, "authority": "REFRESH_TOKEN"}, 400),
    ("sys", "/api/user", {**_TA, "tenantId": "TENANT_A"}, 400),  # a string, not an id object
    ("sys", "/api/user", {**_TA, "tenantId": {"id": "TENANT_A"}}, 400),  # entityType missing
    ("sys", "/api/user", {**_TA, "tenantId": {"entityType": "CUSTOMER", "id": "TENANT_A"}}, 400),
    ("sys", "/api/user", {**_TA, "tenantId": {"entityType": "TENANT", "id": "nope"}}, 400),
    ("sys", "/api/user", {**_TA, "tenantId": {"entityType": "TENANT", "id": "GHOST"}}, 400),
    ("sys", "/api/user", {**_TA, "version": "one"}, 400),
    ("sys", "/api/user", {**_TA, "additionalInfo": [1]}, 400),
    ("sys", "/api/user", {**_TA, "firstName": "nul\x00byte"}, 400),
    ("sys", "/api/user", {**_TA, "email": "é" * 300 + "@x.io"}, 400),
    ("sys", "/api/user", {**_TA, "id": {"entityType": "USER", "id": "GHOST"}}, 404),
    ("sys", "/api/user?sendActivationMail=perhaps", _TA, 400),
    (
        "a",
        "/api/user",
        {
            "email": "cu@example.com",
            "authority": "CUSTOMER_USER",
            "customerId": {"entityType": "CUSTOMER", "id": "CUSTOMER_B"},
        },
        400,
    ),
    (
        "a",
        "/api/user",
        {
            "email": "cu@example.com",
            "authority": "CUSTOMER_USER",
            "customerId": {"entityType": "CUSTOMER", "id": "GHOST"},
        },
        400,
    ),
    ("a", "/api/user", {"id": {"entityType": "USER", "id": "ADMIN_B"}, **_TA}, 403),
    ("cu", "/api/user", {**_TA, "authority": "CUSTOMER_USER"}, 403),
    ("sys", "/api/user", {**_TA, "firstName": "x" * 70_000}, 413),
    ("sys", "/api/tenant", _DEEP.encode(), 400),
    ("sys", "/api/tenant", {"title": 5}, 400),
    (
        "sys",
        "/api/tenant",
        {"title": "T", "tenantProfileId": {"entityType": "TENANT_PROFILE", "id": "GHOST"}},
        400,
    ),
    (
        "sys",
        "/api/tenant",
        {"title": "T", "id": {"entityType": "TENANT", "id": "TENANT_B"}, "version": 99},
        409,
    ),
    ("sys", "/api/tenant", {"title": "T", "zip": "z" * 256}, 400),
    ("a", "/api/tenant", {"title": "T"}, 403),
    ("a", "/api/customer", b"{'title': 'single quotes'}", 400),
    ("a", "/api/customer", {"title": ["list"]}, 400),
    ("a", "/api/customer", {"title": "Customer C"}, 400),
    (
        "a",
        "/api/customer",
        {"title": "X", "id": {"entityType": "CUSTOMER", "id": "CUSTOMER_B"}},
        403,
    ),
    (
        "a",
        "/api/customer",
        {"title": "X", "externalId": {"entityType": "USER", "id": "GHOST"}},
        400,
    ),
    ("a", "/api/customer?uniquifySeparator=" + "_" * 40, {"title": "X"}, 400),
    (
        "a",
        "/api/customer?nameConflictPolicy=UNIQUIFY&uniquifySeparator=%00",
        {"title": "Customer C"},
        400,
    ),
    ("b", "/api/customer", {"title": "X", "email": "bad@"}, 400),
    ("sys", "/api/customer", {"title": "X"}, 403),
]


@pytest.mark.parametrize(("who", "path", "payload", "status"), BAD_INPUT)
def test_bad_input_leaves_nothing_behind(
    client: TestClient,
    sysadmin_headers: Headers,
    container: Container,
    who: str,
    path: str,
    payload: Any,
    status: int,
) -> None:
    tenant_a = create_tenant(client, sysadmin_headers, "A")["id"]["id"]
    _, a = create_tenant_admin(client, sysadmin_headers, tenant_a)
    customer_a = create_customer(client, a, "Customer C")["id"]["id"]
    _, cu = create_customer_user(client, a, customer_a)
    tenant_b = create_tenant(client, sysadmin_headers, "B")["id"]["id"]
    admin_b, b = create_tenant_admin(client, sysadmin_headers, tenant_b)
    customer_b = create_customer(client, b, "Customer B")["id"]["id"]
    names = {
        "TENANT_A": tenant_a,
        "TENANT_B": tenant_b,
        "CUSTOMER_B": customer_b,
        "ADMIN_B": admin_b,
        "GHOST": str(uuid.uuid4()),
    }
    if isinstance(payload, bytes):
        content = payload
    else:
        import json

        content = json.dumps(payload).encode()
        for name, value in names.items():
            content = content.replace(f'"{name}"'.encode(), f'"{value}"'.encode())
    headers = {"sys": sysadmin_headers, "a": a, "b": b, "cu": cu}[who]
    before = row_counts(container)
    r = client.post(path, content=content, headers={**headers, "Content-Type": "application/json"})
    assert_error(r, status)
    assert row_counts(container) == before


@pytest.mark.parametrize("path", ["/api/user", "/api/tenant", "/api/customer"])
def test_authentication_comes_before_the_body(client: TestClient, path: str) -> None:
    r = client.post(path, content=b"{broken", headers={"Content-Type": "application/json"})
    assert_error(r, 401)
