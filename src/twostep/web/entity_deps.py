"""What the tenant, customer and user routes share: the caller, link base URL, paged listings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import ColumnElement, Select

from twostep.bootstrap import Container
from twostep.domain.permissions import Caller
from twostep.web.deps import Principal
from twostep.web.paging import PageLink, fetch_page
from twostep.web.requests import base_url


def caller(principal: Principal) -> Caller:
    return Caller(
        user_id=principal.user_id,
        authority=principal.authority,
        tenant_id=principal.tenant_id,
        customer_id=principal.customer_id,
        email=principal.email,
    )


# Links in mails: TWOSTEP_BASE_URL, else the request's origin (web/requests.py).
BaseUrl = Annotated[str, Depends(base_url)]


@dataclass(frozen=True)
class Listing:
    """One paged endpoint family: its sortable properties, search column and JSON shape."""

    sortable: Mapping[str, ColumnElement[Any]]
    id_column: ColumnElement[Any]
    search_column: ColumnElement[Any] | None
    to_json: Callable[[Any], dict[str, Any]]

    def page(self, c: Container, query: Select[Any], link: PageLink) -> dict[str, Any]:
        with c.db.read() as conn:
            return fetch_page(
                conn,
                query,
                link,
                sortable=self.sortable,
                id_column=self.id_column,
                search_column=self.search_column,
                to_json=self.to_json,
            )
