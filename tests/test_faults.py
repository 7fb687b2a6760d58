"""Faults between the API and the database: an ambiguous failure is retried without double-spending,
and a database that stays away gives 503 with Retry-After, never a hang or a 500."""

from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import uuid4

import asyncpg
import pytest

from api.db import Database, is_transient
from api.settings import Settings
from tests.conftest import ENV, Ledger, api_client, free_port
from tests.faultproxy import FaultProxy


@pytest.fixture
async def proxy(settings: Settings) -> AsyncIterator[FaultProxy]:
    p = FaultProxy(settings.db_host, settings.db_port)
    await p.start()
    yield p
    await p.stop()


@pytest.mark.parametrize("client_key", [True, False], ids=["client-key", "server-key"])
async def test_reply_lost_after_commit_is_retried_and_applied_once(
    settings: Settings,
    proxy: FaultProxy,
    new_wallet,
    ledger: Ledger,
    client_key: bool,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("10")
    async with api_client(settings.model_copy(update={"db_port": proxy.port})) as (client, _):
        proxy.arm(b"wallet.post_transfers")
        headers = {"Idempotency-Key": f"cut-{uuid4()}"} if client_key else {}
        r = await client.post(
            f"/api/v1/wallets/{wallet_id}/operation",
            json={"operation_type": "DEPOSIT", "amount": "5.00"},
            headers=headers,
        )
    assert proxy.cuts == 1, "the fault was not injected"
    assert r.status_code == 200, r.text
    assert r.json()["replayed"] is True  # the retry found the committed first attempt
    assert r.json()["balance"] == "15.00"
    entries = await ledger.entries(wallet_id)
    assert [(e["operation_type"], e["amount"]) for e in entries] == [
        ("DEPOSIT", Decimal("10.00")),
        ("DEPOSIT", Decimal("5.00")),
    ]
    assert await ledger.balance(wallet_id) == Decimal("15.00")


async def test_unreachable_database_gives_503_with_retry_after(settings: Settings) -> None:
    dead = settings.model_copy(update={"db_port": free_port(), "retry_max_seconds": 1.0, "retry_after_seconds": 3})
    async with api_client(dead) as (client, _):
        r = await client.get(f"/api/v1/wallets/{uuid4()}")
        ready = await client.get("/ready")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "3"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "service_unavailable"
    assert ready.status_code == 503


async def test_starved_pool_gives_503_instead_of_waiting_forever(settings: Settings, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("1")
    tight = settings.model_copy(update={"pool_max_size": 1, "pool_acquire_timeout": 0.2})
    async with api_client(tight) as (client, app):
        db: Database = app.state.db
        held = await db.pool.acquire()  # hold the only connection, as a slow request would
        try:
            r = await client.get(f"/api/v1/wallets/{wallet_id}")
        finally:
            await db.pool.release(held)
        after = await client.get(f"/api/v1/wallets/{wallet_id}")
    assert r.status_code == 503
    assert "Retry-After" in r.headers
    assert after.status_code == 200


async def test_transient_errors_are_classified() -> None:
    assert is_transient(ConnectionRefusedError())
    assert is_transient(TimeoutError())
    assert is_transient(asyncpg.exceptions.SerializationError("x"))
    assert is_transient(asyncpg.exceptions.DeadlockDetectedError("x"))
    assert is_transient(asyncpg.exceptions.AdminShutdownError("x"))
    assert is_transient(asyncpg.exceptions.ConnectionDoesNotExistError("x"))
    assert is_transient(asyncpg.InternalClientError("cannot switch to state 12; another operation is in progress"))
    assert not is_transient(asyncpg.exceptions.UniqueViolationError("x"))
    assert not is_transient(ValueError("x"))


async def test_direct_postgresql_with_statement_cache_on_works(settings: Settings, new_wallet) -> None:  # type: ignore[no-untyped-def]
    """The same app straight on PostgreSQL (or a PgBouncer >= 1.21) with asyncpg's statement cache on."""
    wallet_id = await new_wallet("1")
    direct = settings.model_copy(
        update={"db_port": int(ENV.get("WALLET_PG_PORT", "55432")), "statement_cache_size": 100}
    )
    async with api_client(direct) as (client, _):
        for _ in range(3):
            r = await client.post(
                f"/api/v1/wallets/{wallet_id}/operation", json={"operation_type": "DEPOSIT", "amount": "1"}
            )
            assert r.status_code == 200
    assert r.json()["balance"] == "4.00"
