"""Builds the app: the lifespan opens and closes the database pool; routers and error handlers."""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.batcher import Batcher
from api.db import Database
from api.metrics import HTTP_LATENCY, HTTP_REQUESTS
from api.routes import health, wallets
from api.settings import Settings, get_settings

access_log = logging.getLogger("wallet.access")
MAX_HEADER_COUNT = 100
pool_log = logging.getLogger("wallet.pool")

DESCRIPTION = """
Wallets with a balance and a ledger. The rules (balance checks, locking, idempotency) live in
PostgreSQL functions; this API validates requests, calls one function and maps the result.

* Money is a decimal string with 2 places (`"100.50"`); requests may send a string or a JSON number.
* Every error is `application/problem+json` (RFC 9457) with a stable `code`.
* `Idempotency-Key` on POST makes a retry safe: the original result is returned, nothing is applied twice.
"""


class RequestContext:
    """Outermost ASGI middleware: a request id on every request and response (500s included), one
    access-log line, and the body-size limit: a body over it gets 413 before the app sees any of it."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass over the headers: the request id, the declared body size, and the headers' own size.
        request_id = ""
        declared = header_bytes = 0
        headers = scope.get("headers", ())
        for name, value in headers:
            header_bytes += len(name) + len(value)
            if name == b"x-request-id" and 0 < len(value) <= 128 and value.isascii():
                request_id = value.decode()
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        async def refuse(kind: errors.ErrorKind, detail: str) -> None:
            await errors.problem_response(Request(scope), kind, detail)(scope, receive, send_with_id)

        try:
            if len(headers) > MAX_HEADER_COUNT or header_bytes > self.max_header_bytes:
                await refuse(
                    errors.HEADERS_TOO_LARGE,
                    f"at most {MAX_HEADER_COUNT} headers and {self.max_header_bytes} bytes of them",
                )
                return
            if scope["method"] in ("POST", "PUT", "PATCH"):
                body = None if declared > self.max_body_bytes else await self._read_body(receive)
                if body is None:
                    await refuse(errors.TOO_LARGE, f"the request body is larger than {self.max_body_bytes} bytes")
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s %.1fms request_id=%s", scope["method"], scope["path"], status, elapsed * 1000, request_id
                )

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it grows over the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class WalletAPI(FastAPI):
    """FastAPI with RequestContext outside everything, even the error middleware."""

    def build_middleware_stack(self) -> ASGIApp:
        settings = self.state.settings
        return RequestContext(super().build_middleware_stack(), settings.max_body_bytes, settings.max_header_bytes)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        await db.open()
        app.state.db = db
        app.state.batcher = (
            Batcher(db, settings.batch_max_size, settings.batch_max_queue, settings.retry_after_seconds)
            if settings.batching
            else None
        )
        pool_logger = asyncio.create_task(_log_pool(db, settings.pool_log_seconds))
        try:
            yield
        finally:
            pool_logger.cancel()
            if app.state.batcher is not None:
                await app.state.batcher.close()
            await db.close()

    app = WalletAPI(
        title="Wallet service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(wallets.router)
    app.include_router(health.router)
    return app


async def _log_pool(db: Database, every: float) -> None:
    """A periodic log line with the pool's usage, for people reading logs rather than metrics."""
    if every <= 0:
        return
    while True:
        await asyncio.sleep(every)
        stats = db.pool_stats()
        pool_log.info("pool size=%(size)s in_use=%(in_use)s idle=%(idle)s max=%(max)s", stats)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
