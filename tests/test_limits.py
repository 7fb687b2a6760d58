"""Limits against hostile or broken clients: oversized headers get 431, and slow clients cannot pin
the database pool (a body is read in full before a connection is taken)."""

import asyncio
import socket
import time

import httpx

from api.settings import Settings
from tests.conftest import LiveServer


async def test_too_large_or_too_many_headers_get_431(client: httpx.AsyncClient) -> None:
    r = await client.get("/health", headers={"X-Big": "a" * 10_000})
    assert r.status_code == 431
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "request_header_fields_too_large"
    r = await client.get("/health", headers={f"X-H{i}": "1" for i in range(150)})
    assert r.status_code == 431


async def test_slow_clients_cannot_pin_the_pool(settings: Settings, new_wallet) -> None:  # type: ignore[no-untyped-def]
    """Ten clients send headers and half a body, then stall, against an API whose pool has ONE
    connection: a normal request still gets through at once."""
    wallet_id = await new_wallet("1")
    with LiveServer(settings.model_copy(update={"pool_max_size": 1, "pool_acquire_timeout": 1.0})) as server:
        stalled = []
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(
                f"POST /api/v1/wallets/{wallet_id}/operation HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/json\r\nContent-Length: 60\r\n\r\n"
                '{"operation_type": "DEP'.encode()
            )
            stalled.append(s)
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as c:
            started = time.monotonic()
            r = await c.get(f"/api/v1/wallets/{wallet_id}")
            elapsed = time.monotonic() - started
        for s in stalled:
            s.close()
    assert r.status_code == 200
    assert elapsed < 1.0, f"a normal request waited {elapsed:.2f} s behind stalled clients"
