"""Issue 2, must-show 2: tb-rest-client 4.4, as shipped, manages tenants and users."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from tb_rest_client.models import ActivateUserRequest, Customer, Tenant, User
from tb_rest_client.rest import ApiException
from tb_rest_client.rest_client import RestClient

from tests.support import SYSADMIN_EMAIL, SYSADMIN_PASSWORD


def test_sysadmin_creates_a_tenant_admin_who_manages_customers(live_server) -> None:  # type: ignore[no-untyped-def]
    admin = RestClient(live_server.url)
    admin.login(SYSADMIN_EMAIL, SYSADMIN_PASSWORD)
    assert admin.get_token() is not None
    assert admin.get_user().authority == "SYS_ADMIN"

    tenant = admin.save_tenant(Tenant(title="Acme"))
    assert tenant.id.id and tenant.region == "Global"
    tenant_admin = admin.save_user(
        User(email="admin@acme.example", authority="TENANT_ADMIN", tenant_id=tenant.id, first_name="Ada"),
        send_activation_mail=False,
    )
    assert tenant_admin.version == 1
    link = admin.get_activation_link(tenant_admin.id)
    token = parse_qs(urlparse(link).query)["activateToken"][0]
    assert len(token) == 40
    admin.check_activate_token(token)  # follows the 303 to /login/createPassword (2xx)

    pair = admin.activate_user(ActivateUserRequest(activate_token=token, password="acme-Pa55word"), send_activation_mail=False)
    assert pair.token and pair.refresh_token

    ta = RestClient(live_server.url)
    ta.login("admin@acme.example", "acme-Pa55word")
    me = ta.get_user()
    assert me.authority == "TENANT_ADMIN" and me.tenant_id.id == tenant.id.id

    customer = ta.save_customer(Customer(title="Customer A"))
    assert customer.tenant_id.id == tenant.id.id
    user = ta.save_user(
        User(email="cu@acme.example", authority="CUSTOMER_USER", customer_id=customer.id), send_activation_mail=False
    )
    assert user.customer_id.id == customer.id.id
    page = ta.get_users(page_size=10, page=0)
    assert {u.email for u in page.data} == {"admin@acme.example", "cu@acme.example"}
    assert [u.email for u in ta.get_customer_users(customer.id, page_size=10, page=0).data] == ["cu@acme.example"]

    # A tenant admin cannot manage tenants.
    with pytest.raises(ApiException) as err:
        ta.save_tenant(Tenant(title="Other"))
    assert err.value.status == 403
