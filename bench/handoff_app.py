"""A bare FastAPI app with twostep's stack (uvicorn + uvloop + httptools, 2 workers) that isolates
the cost of FastAPI's threadpool hand-offs: every `def` dependency and every `def` endpoint is run
through anyio's worker threads, once per request each.

    /async           async endpoint, no dependencies            (like /healthz)
    /sync            def endpoint                               (1 hand-off)
    /sync-3sync      def endpoint + 3 def dependencies          (4 hand-offs, like the 2FA check)
    /sync-3async     def endpoint + the same 3 as async def     (1 hand-off)

and the storage floor of a second-step check: what any check that keeps its state where twostep
keeps it must do at least, with none of the check's logic (no token, no TOTP, no JSON body):

    /floor-sqlite    async endpoint + 1 hand-off: a read transaction (one row by key) and a write
                     transaction (a conditional UPDATE and an INSERT), through twostep's own
                     `Database` (pooled SQLAlchemy Core, WAL, BEGIN IMMEDIATE, the writer queue)
    /floor-pg        the same on PostgreSQL, plus one Redis call (the shared rate limit)

The floor's tables are made by `prepare_floor` before the server starts (FLOOR_SQLITE_URL,
FLOOR_PG_URL, FLOOR_REDIS_URL name the stores; without them the floor routes are absent).

Served by `uvicorn --factory bench.handoff_app:create_app --workers 2` from the bench.
"""

import os
import random
import uuid
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    select,
    update,
)

FLOOR_ROWS = 10_000  # one row per "user": parallel requests rarely wait for each other's row lock

_meta = MetaData()
floor_row = Table(
    "floor_row", _meta, Column("id", Integer, primary_key=True), Column("v", Integer, nullable=False)
)
floor_event = Table(
    "floor_event",
    _meta,
    Column("id", Uuid, primary_key=True),
    Column("row_id", Integer, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("what", String(64), nullable=False),
)
_READ = select(floor_row.c.v).where(floor_row.c.id == bindparam("k"))
_COUNT = (
    update(floor_row)
    .where(floor_row.c.id == bindparam("k"), floor_row.c.v >= 0)
    .values(v=floor_row.c.v + 1)
)
_EVENT = floor_event.insert()


def prepare_floor(url: str) -> None:
    """The floor's tables and rows (run once, before the server's workers start)."""
    from twostep.storage.db import Database, make_engine

    db = Database(make_engine(url))
    _meta.drop_all(db.engine)
    _meta.create_all(db.engine)
    with db.transaction() as conn:
        conn.execute(floor_row.insert(), [{"id": i, "v": 0} for i in range(FLOOR_ROWS)])
    db.dispose()


def _floor_work(db, redis) -> dict[str, str]:  # type: ignore[no-untyped-def]
    k = random.randrange(FLOOR_ROWS)
    with db.read() as conn:
        conn.execute(_READ, {"k": k}).first()
    if redis is not None:
        redis.incr(f"floor:{k}")
    with db.transaction() as conn:
        if conn.execute(_COUNT, {"k": k}).rowcount != 1:
            raise RuntimeError("floor row missing")
        conn.execute(_EVENT, {"id": uuid.uuid4(), "row_id": k, "created": 0, "what": "floor"})
    return {"status": "UP"}


def dep_a(request: Request) -> str:
    return request.url.path


def dep_b(request: Request) -> str:
    return request.headers.get("user-agent", "")


def dep_c(request: Request) -> str:
    return request.client.host if request.client else ""


async def adep_a(request: Request) -> str:
    return request.url.path


async def adep_b(request: Request) -> str:
    return request.headers.get("user-agent", "")


async def adep_c(request: Request) -> str:
    return request.client.host if request.client else ""


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/async")
    async def plain_async() -> dict[str, str]:
        return {"status": "UP"}

    @app.get("/sync")
    def plain_sync() -> dict[str, str]:
        return {"status": "UP"}

    @app.get("/sync-3sync")
    def sync_3sync(
        a: Annotated[str, Depends(dep_a)],
        b: Annotated[str, Depends(dep_b)],
        c: Annotated[str, Depends(dep_c)],
    ) -> dict[str, str]:
        return {"status": "UP"}

    @app.get("/sync-3async")
    def sync_3async(
        a: Annotated[str, Depends(adep_a)],
        b: Annotated[str, Depends(adep_b)],
        c: Annotated[str, Depends(adep_c)],
    ) -> dict[str, str]:
        return {"status": "UP"}

    _floor_routes(app)
    return app


def _floor_routes(app: FastAPI) -> None:
    from twostep.storage.db import Database, make_engine

    for name, url_var in (("sqlite", "FLOOR_SQLITE_URL"), ("pg", "FLOOR_PG_URL")):
        url = os.environ.get(url_var)
        if not url:
            continue
        db = Database(make_engine(url))
        redis = None
        if name == "pg" and os.environ.get("FLOOR_REDIS_URL"):
            import redis as redis_lib

            redis = redis_lib.Redis.from_url(os.environ["FLOOR_REDIS_URL"])

        app.post(f"/floor-{name}")(_floor_endpoint(db, redis))


def _floor_endpoint(db, redis):  # type: ignore[no-untyped-def]
    # async + one explicit hand-off, as twostep's check endpoint
    async def floor() -> dict[str, str]:
        return await run_in_threadpool(_floor_work, db, redis)

    return floor
