"""A bare FastAPI app with twostep's stack (uvicorn + uvloop + httptools, 2 workers) that isolates
the cost of FastAPI's threadpool hand-offs: every `def` dependency and every `def` endpoint is run
through anyio's worker threads, once per request each.

    /async           async endpoint, no dependencies            (like /healthz)
    /sync            def endpoint                               (1 hand-off)
    /sync-3sync      def endpoint + 3 def dependencies          (4 hand-offs, like the 2FA check)
    /sync-3async     def endpoint + the same 3 as async def     (1 hand-off)

Served by `uvicorn --factory bench.handoff_app:create_app --workers 2` from the bench.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, Request


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

    return app
