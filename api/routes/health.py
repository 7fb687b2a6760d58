"""Liveness, readiness and the problem-type documents the `type` of every error points to."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from api.db import Database
from api.errors import HTTP_LAYER_KINDS, SQLSTATES, ErrorKind, shorten
from api.metrics import render

router = APIRouter(tags=["operations"])

_KINDS: dict[str, tuple[ErrorKind, str | None]] = {k.code: (k, s) for s, k in SQLSTATES.items()}
_KINDS.update({k.code: (k, None) for k in HTTP_LAYER_KINDS})


@router.get("/health", summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="The database is reachable through PgBouncer",
    responses={503: {"description": "Not ready", "content": {"application/problem+json": {}}}},
)
async def ready(request: Request) -> dict[str, str]:
    db: Database = request.app.state.db
    await db.ping()
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    db: Database = request.app.state.db
    body, content_type = render(db.pool_stats())
    return Response(body, media_type=content_type)


@router.get("/problems/{code}", summary="What an error code means", include_in_schema=False)
async def problem_type(code: str) -> JSONResponse:
    if code not in _KINDS:
        raise HTTPException(404, f"no problem type is called {shorten(code, 40)!r}")
    kind, sqlstate = _KINDS[code]
    return JSONResponse({"code": kind.code, "title": kind.title, "status": kind.status, "sqlstate": sqlstate})
