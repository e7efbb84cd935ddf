"""ThingsBoard paging: query parameters, validation messages and the PageData shape."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Query
from sqlalchemy import ColumnElement, Connection, Select, func, select

from twostep.domain.errors import BadRequest

_MAX_PAGE = 2**31 - 1  # Java's int: larger values are not numbers ThingsBoard accepts
_SORT_PROPERTY = re.compile(r"^[\w-]+$", re.UNICODE)


@dataclass(frozen=True)
class PageLink:
    page_size: int
    page: int
    text_search: str | None
    sort_property: str | None
    sort_order: str


def page_link(
    pageSize: str = Query(...),  # noqa: N803 (ThingsBoard's parameter names)
    page: str = Query(...),
    textSearch: str | None = Query(None),  # noqa: N803
    sortProperty: str | None = Query(None),  # noqa: N803
    sortOrder: str | None = Query(None),  # noqa: N803
) -> PageLink:
    try:
        size = int(pageSize)
    except ValueError:
        raise BadRequest(f"Failed to convert value '{pageSize}' to int for 'pageSize'") from None
    try:
        number = int(page)
    except ValueError:
        raise BadRequest(f"Failed to convert value '{page}' to int for 'page'") from None
    if size < 1:
        raise BadRequest(
            f"Incorrect page link page size '{size}'. Page size must be greater than zero."
        )
    if number < 0:
        raise BadRequest(f"Incorrect page link page '{number}'. Page must be positive integer.")
    if size > 10_000:
        raise BadRequest("Page size must not exceed 10000")
    if sortProperty is not None and not _SORT_PROPERTY.match(sortProperty):
        raise BadRequest("Invalid sort property")
    order = (sortOrder or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise BadRequest(
            f"Unsupported sort order '{sortOrder}'! Only 'ASC' or 'DESC' types are allowed."
        )
    if number > _MAX_PAGE:
        raise BadRequest(f"Failed to convert value '{page}' to int for 'page'")
    if textSearch is not None and ("\x00" in textSearch or len(textSearch) > 255):
        raise BadRequest("Invalid text search: at most 255 characters, no NUL")
    return PageLink(size, number, textSearch or None, sortProperty or None, order)


def fetch_page(
    conn: Connection,
    query: Select[Any],
    link: PageLink,
    *,
    sortable: Mapping[str, ColumnElement[Any]],
    id_column: ColumnElement[Any],
    search_column: ColumnElement[Any] | None,
    to_json: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    if link.text_search and search_column is not None:
        query = query.where(search_column.ilike(f"%{_escape_like(link.text_search)}%", escape="\\"))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    if link.sort_property:
        column = sortable.get(link.sort_property)
        if column is None:
            raise BadRequest(f"Invalid sort property: {link.sort_property}")
        ordered = column.desc() if link.sort_order == "DESC" else column.asc()
        query = query.order_by(ordered, id_column.asc())
    else:
        query = query.order_by(id_column.asc())
    rows = conn.execute(query.limit(link.page_size).offset(link.page * link.page_size)).all()
    pages = math.ceil(total / link.page_size) if total else 0
    return {
        "data": [to_json(r) for r in rows],
        "totalPages": pages,
        "totalElements": total,
        "hasNext": link.page + 1 < pages,
    }


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
