"""Builds the app: the lifespan opens and closes the database pool; routers, error handlers, and the
ASGI layers around FastAPI (outermost first): RequestContext, CORS (when configured), Limits."""

import asyncio
import itertools
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.batcher import Batcher, HoldBatcher
from api.db import Database
from api.metrics import HTTP_LATENCY, HTTP_REQUESTS
from api.reads import SharedReads
from api.routes import health, holds, transfers, wallets
from api.settings import Settings, get_settings

access_log = logging.getLogger("wallet.access")
MAX_HEADER_COUNT = 100
pool_log = logging.getLogger("wallet.pool")
housekeeping_log = logging.getLogger("wallet.housekeeping")

# A client's X-Request-ID is kept only if it is this safe to log and echo; otherwise one is generated.
SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")
# Characters left as they are when a path is logged; everything else (spaces, control characters,
# non-ASCII) is percent-encoded, so a path is always one token of the log line.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
DOCS_ASSETS = "/static/docs"
# Request ids made here: 32 hex digits, 64 random bits per process start and a counter (no system call
# for randomness per request, as uuid4 makes).
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)

DESCRIPTION = """
Wallets with a balance and a ledger. The rules (balance checks, locking, idempotency) live in
PostgreSQL functions; this API validates requests, calls one function and maps the result.

* Money is a decimal string with 2 places (`"100.50"`); requests may send a string or a JSON number,
  written in plain decimal notation either way (no sign, no exponent); a fraction of a cent is refused.
* Every error is `application/problem+json` (RFC 9457) with a stable `code`.
* `Idempotency-Key` on POST makes a retry safe: the original result is returned, nothing is applied twice.
"""


class RequestContext:
    """Outermost ASGI layer: a request id on every request and response (500s included), one access-log
    line and the metrics per request; HEAD answered as GET without a body; redirects made relative."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id" and SAFE_REQUEST_ID.fullmatch(value):
                request_id = value.decode()
        request_id = request_id or f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"
        scope.setdefault("state", {})["request_id"] = request_id
        method = scope["method"]
        if method == "HEAD":  # the server sends no body for HEAD; the app answers it as the GET
            scope = {**scope, "method": "GET"}
        started = time.perf_counter()
        status = 499  # nothing sent: the client went away before its request arrived whole

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                if 300 <= status < 400:
                    message["headers"] = headers = [_relative_location(h) for h in headers]
                headers.append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                path = quote(scope["path"], safe=_PATH_SAFE)
                fields = {"method": method, "path": path, "status": status, "ms": round(elapsed * 1000, 1)}
                access_log.info(
                    "%s %s %s %.1fms request_id=%s",
                    method,
                    path,
                    status,
                    elapsed * 1000,
                    request_id,
                    extra={"fields": {**fields, "request_id": request_id}},
                )


def _relative_location(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """A redirect never names a host (Starlette's trailing-slash redirect would echo the client's Host)."""
    name, value = header
    if name != b"location":
        return header
    url = urlsplit(value.decode("latin-1"))
    relative = url.path + (f"?{url.query}" if url.query else "")
    return name, relative.encode("latin-1")


class Limits:
    """Header and body limits, before the app sees anything: more than 100 headers or max_header_bytes
    of them get 431; a body over max_body_bytes gets 413 as soon as it grows over it. A body is read
    whole before the app runs (a slow client never holds a database connection), and a request whose
    client goes away before its body arrived whole is not handled at all."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int, larger_bodies: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.larger_bodies = larger_bodies or {}  # path -> its own body limit (bulk posting)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", ())
        declared = header_bytes = 0
        for name, value in headers:
            header_bytes += len(name) + len(value)
            if name == b"content-length" and value.isdigit():
                declared = int(value)

        async def refuse(kind: errors.ErrorKind, detail: str) -> None:
            await errors.problem_response(Request(scope), kind, detail)(scope, receive, send)

        if len(headers) > MAX_HEADER_COUNT or header_bytes > self.max_header_bytes:
            await refuse(
                errors.HEADERS_TOO_LARGE,
                f"at most {MAX_HEADER_COUNT} headers and {self.max_header_bytes} bytes of them",
            )
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            limit = self.larger_bodies.get(scope["path"], self.max_body_bytes)
            if declared > limit:
                await refuse(errors.TOO_LARGE, f"the request body is larger than {limit} bytes")
                return
            try:
                body = await self._read_body(receive, limit)
            except _ClientGone:
                return
            if body is None:
                await refuse(errors.TOO_LARGE, f"the request body is larger than {limit} bytes")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _read_body(self, receive: Receive, limit: int) -> bytes | None:
        """The whole body, or None as soon as it grows over the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _ClientGone(Exception):
    """The client disconnected before its body arrived whole: the request is not handled."""


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class ProblemCORS(CORSMiddleware):
    """Starlette's CORS, but a refused preflight is a problem+json like every other error."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if (
            scope["type"] == "http"
            and scope["method"] == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        ):
            response = self.preflight_response(request_headers=headers)
            if response.status_code >= 400:
                detail = bytes(response.body).decode(errors="replace")
                response = errors.problem_response(Request(scope), errors.CORS_REFUSED, detail)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class WalletAPI(FastAPI):
    """FastAPI with our ASGI layers outside everything, even the error middleware."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        app: ASGIApp = Limits(
            super().build_middleware_stack(),
            settings.max_body_bytes,
            settings.max_header_bytes,
            {transfers.BULK_PATH: settings.max_bulk_body_bytes},
        )
        if settings.cors_origins:
            app = ProblemCORS(
                app,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "HEAD", "POST"],
                allow_headers=["Accept", "Content-Type", "Idempotency-Key", "X-Request-ID"],
                expose_headers=["Location", "Retry-After", "Idempotent-Replayed", "X-Request-ID"],
                max_age=600,
            )
        return RequestContext(app)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        await db.open()
        app.state.db = db
        app.state.batcher = (
            Batcher(db, settings.batch_max_size, settings.batch_max_queue) if settings.batching else None
        )
        app.state.hold_batcher = (
            HoldBatcher(db, settings.batch_max_size, settings.batch_max_queue) if settings.batching else None
        )
        app.state.reads = SharedReads(db.get_wallet) if settings.batching else None
        background = [
            asyncio.create_task(_log_pool(db, settings.pool_log_seconds)),
            # expired refusals of server-made keys are deleted
            asyncio.create_task(
                _sweep(
                    settings.housekeeping_seconds,
                    db.expire_refusals,
                    "expire_refusals",
                    "expired %s refusals of server-made keys",
                )
            ),
            # active holds past their expires_at become expired (with the time it was done) and their money
            # available again, without waiting for a request to lock their wallet
            asyncio.create_task(
                _sweep(settings.hold_sweep_seconds, db.expire_holds, "expire_holds", "expired %s holds")
            ),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            if app.state.batcher is not None:
                await app.state.batcher.close()
                await app.state.hold_batcher.close()
                await app.state.reads.close()
            await db.close()

    app = WalletAPI(
        title="Wallet service",
        version="1.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry looks for a configured provider on every request (an environment
        # lookup each time); on only when asked for. /metrics serves Prometheus metrics either way.
        telemetry={"tracing": settings.otel, "metrics": settings.otel, "logs": settings.otel},
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(wallets.router)
    app.include_router(transfers.router)
    app.include_router(holds.router)
    app.include_router(health.router)
    _add_docs(app)
    return app


def _add_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc served with their assets from this process (the pinned fastapi-offline
    package ships them), so the pages work on a machine without internet."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=oauth2_redirect,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


async def _log_pool(db: Database, every: float) -> None:
    """A periodic log line with the pool's usage, for people reading logs rather than metrics."""
    if every <= 0:
        return
    while True:
        await asyncio.sleep(every)
        stats = db.pool_stats()
        pool_log.info("pool size=%(size)s in_use=%(in_use)s idle=%(idle)s max=%(max)s", stats)


async def _sweep(every: float, job: Callable[[], Awaitable[int]], name: str, done: str) -> None:
    """A periodic database sweep (every `every` seconds; 0: off): logs `done` with how many rows it
    handled. A database that is down now is retried next time."""
    if every <= 0:
        return
    while True:
        await asyncio.sleep(every)
        try:
            handled = await job()
        except Exception as exc:
            housekeeping_log.warning("%s failed: %r", name, exc)
            continue
        if handled:
            housekeeping_log.info(done, handled)
