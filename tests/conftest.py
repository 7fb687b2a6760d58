"""The real stack for the tests: the test database (recreated by `make test`) behind PgBouncer, and
the API served by uvicorn on a loopback port in a background thread. No mocks."""

import asyncio
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
import uvicorn
from dotenv import dotenv_values
from fastapi import FastAPI

from api.main import create_app
from api.server import protocol_with_timeout
from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ENV = {**dotenv_values(ROOT / ".env"), **os.environ}
TEST_DB = f"{ENV.get('WALLET_DB', 'wallet')}_test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(db_name=TEST_DB, pool_max_size=20, log_level="WARNING")


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    port = ENV.get("WALLET_PG_PORT", "55432")
    return f"postgresql://postgres:{ENV['POSTGRES_PASSWORD']}@127.0.0.1:{port}/{TEST_DB}"


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread of this process."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            http=protocol_with_timeout(settings.request_timeout),  # as `python -m api` serves
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="session")
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30, limits=limits) as c:
        yield c


@pytest.fixture(scope="session")
async def admin(admin_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """Superuser connections straight to PostgreSQL, to check the ledger behind the API's back."""
    pool = await asyncpg.create_pool(admin_dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """An app of its own (its own pool, its own settings), called in-process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield client, app


async def make_wallet(client: httpx.AsyncClient, balance: str = "0", currency: str | None = None) -> UUID:
    """A new wallet over HTTP (the service's default currency unless given): its id."""
    body: dict[str, Any] = {"initial_balance": balance}
    if currency:
        body["currency"] = currency
    r = await client.post("/api/v1/wallets", json=body)
    assert r.status_code == 201, r.text
    return UUID(r.json()["id"])


@pytest.fixture
def new_wallet(client: httpx.AsyncClient) -> Any:
    async def make(initial: str = "0") -> UUID:
        r = await client.post("/api/v1/wallets", json={"initial_balance": initial})
        assert r.status_code == 201, r.text
        return UUID(r.json()["id"])

    return make


class Ledger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def balance(self, wallet_id: UUID) -> Decimal:
        return Decimal(await self.pool.fetchval("SELECT balance FROM wallet.wallets WHERE id = $1", wallet_id))

    async def entries(self, wallet_id: UUID) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM wallet.operations WHERE wallet_id = $1 ORDER BY seq", wallet_id)

    async def inconsistencies(self, wallet_id: UUID) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM wallet.verify_ledger($1)", wallet_id)


@pytest.fixture
def ledger(admin: asyncpg.Pool) -> Ledger:
    return Ledger(admin)


async def raw_http(
    url: str, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request written byte for byte (for what httpx refuses to send, e.g. a header value
    with spaces around it): status, headers (lower-case names, the last of each) and body."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: test", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    head, _, content = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), parsed, content
