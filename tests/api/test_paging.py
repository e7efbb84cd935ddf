"""Paging parameters: ThingsBoard's messages, and no 500 for absurd values."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "query,message",
    [
        ("pageSize=0&page=0", "Incorrect page link page size '0'. Page size must be greater than zero."),
        ("pageSize=10&page=-1", "Incorrect page link page '-1'. Page must be positive integer."),
        ("pageSize=10&page=0&sortProperty=a;b", "Invalid sort property"),
        ("pageSize=10&page=0&sortOrder=UP", "Unsupported sort order 'UP'! Only 'ASC' or 'DESC' types are allowed."),
        ("pageSize=10&page=9223372036854775807", "Failed to convert value '9223372036854775807' to int for 'page'"),
        ("pageSize=x&page=0", "Failed to convert value 'x' to int for 'pageSize'"),
    ],
)
def test_page_link_validation(client, sysadmin_headers, query, message) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/audit/logs?{query}", headers=sysadmin_headers)
    assert r.status_code == 400 and r.json()["message"] == message


def test_nul_in_text_search_is_refused(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/audit/logs?pageSize=10&page=0&textSearch=a%00b", headers=sysadmin_headers)
    assert r.status_code == 400


def test_audit_page_shape(client, sysadmin_headers) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/audit/logs?pageSize=1&page=0&actionTypes=login", headers=sysadmin_headers).json()
    assert set(body) == {"data", "totalPages", "totalElements", "hasNext"}
    assert body["data"][0]["actionType"] == "LOGIN" and body["data"][0]["id"].keys() == {"id"}
    r = client.get("/api/audit/logs?pageSize=1&page=0&actionTypes=FOO", headers=sysadmin_headers)
    assert r.status_code == 400 and r.json()["message"] == "No enum constant ActionType.FOO"
