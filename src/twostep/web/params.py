"""Numbers in query parameters: bounded to what a 64-bit integer holds (Java's long, as in
ThingsBoard; a BIGINT column). FastAPI refuses anything else with a 400 before the route runs;
tests/security/test_malformed_input.py checks that every integer parameter of the API uses these."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from twostep.web.strict_json import INT64_MAX, INT64_MIN

OptionalInt64Query = Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)]
