"""Live batching: concurrent operations on one wallet share database calls, yet each request gets
exactly the answer it would have had alone; a vanished client loses nothing; queues are bounded."""

import asyncio
import re
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg
import httpx

from api.settings import Settings
from tests.conftest import Ledger, api_client


def op_url(wallet_id: UUID) -> str:
    return f"/api/v1/wallets/{wallet_id}/operation"


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    assert match, name
    return float(match.group(1))


async def lock_wallet(admin: asyncpg.Pool, wallet_id: UUID) -> tuple[asyncpg.Connection, object]:
    """Holds the wallet's row lock in an open transaction, as a long call would."""
    con = await admin.acquire()
    tx = con.transaction()
    await tx.start()
    await con.execute("SELECT 1 FROM wallet.wallets WHERE id = $1 FOR UPDATE", wallet_id)
    return con, tx


async def test_concurrent_operations_share_calls_and_each_gets_its_own_answer(
    client: httpx.AsyncClient,
    new_wallet,  # type: ignore[no-untyped-def]
    ledger: Ledger,
    admin: asyncpg.Pool,
) -> None:
    wallet_id = await new_wallet("10.00")
    before = (await client.get("/metrics")).text
    # A busy wallet, as under load: the first call waits on the row lock while the rest queue up.
    con, tx = await lock_wallet(admin, wallet_id)
    key = f"dup-{uuid4()}"
    same = f"same-{uuid4()}"
    deposit = {"operation_type": "DEPOSIT", "amount": "1.00"}
    overdraft = {"operation_type": "WITHDRAW", "amount": "100000"}
    requests = (
        [client.post(op_url(wallet_id), json=deposit) for _ in range(60)]
        + [client.post(op_url(wallet_id), json=overdraft) for _ in range(20)]
        + [
            client.post(
                op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": a}, headers={"Idempotency-Key": key}
            )
            for a in ("5", "6")
        ]
        + [
            client.post(
                op_url(wallet_id),
                json={"operation_type": "DEPOSIT", "amount": "0.50"},
                headers={"Idempotency-Key": same},
            )
            for _ in range(2)
        ]
    )
    tasks = [asyncio.create_task(r) for r in requests]
    for _ in range(100):  # until all but the in-flight one wait in the queue
        await asyncio.sleep(0.1)
        if metric((await client.get("/metrics")).text, "wallet_batch_queued_operations") >= len(tasks) - 1:
            break
    await tx.rollback()  # type: ignore[attr-defined]
    await admin.release(con)
    responses = await asyncio.gather(*tasks)
    after = (await client.get("/metrics")).text

    assert [r.status_code for r in responses[:60]] == [200] * 60
    assert [r.json()["code"] for r in responses[60:80]] == ["insufficient_funds"] * 20
    keyed = sorted(r.status_code for r in responses[80:82])
    assert keyed == [200, 422]  # whichever came first applied; the other is a mismatch
    applied = 5 if responses[80].status_code == 200 else 6
    twins = responses[82:]
    assert [r.status_code for r in twins] == [200, 200]
    assert twins[0].json()["id"] == twins[1].json()["id"]  # one entry, replayed to the second
    assert sorted(r.json()["replayed"] for r in twins) == [False, True]
    assert await ledger.balance(wallet_id) == Decimal("70.50") + applied
    assert len(await ledger.entries(wallet_id)) == 1 + 60 + 1 + 1
    assert await ledger.inconsistencies(wallet_id) == []

    calls = metric(after, "wallet_batch_operations_count") - metric(before, "wallet_batch_operations_count")
    ops = metric(after, "wallet_batch_operations_sum") - metric(before, "wallet_batch_operations_sum")
    assert ops >= 84
    assert calls <= 3, f"{ops} operations went in {calls} calls: no batching happened"


async def test_client_that_gives_up_mid_batch_still_gets_its_operation_applied(
    live_server,
    new_wallet,
    ledger: Ledger,
    admin: asyncpg.Pool,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("0")
    con, tx = await lock_wallet(admin, wallet_id)
    try:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=0.5) as impatient:
            try:
                await impatient.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "2.50"})
                raise AssertionError("the request should have timed out while the wallet was locked")
            except httpx.TimeoutException:
                pass
    finally:
        await tx.rollback()  # type: ignore[attr-defined]
        await admin.release(con)
    for _ in range(50):
        if await ledger.balance(wallet_id) == Decimal("2.50"):
            break
        await asyncio.sleep(0.1)
    assert await ledger.balance(wallet_id) == Decimal("2.50")
    assert len(await ledger.entries(wallet_id)) == 1


async def test_full_queue_answers_503_with_retry_after_and_loses_nothing(
    settings: Settings,
    new_wallet,
    ledger: Ledger,
    admin: asyncpg.Pool,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("0")
    tight = settings.model_copy(update={"batch_max_queue": 3})
    async with api_client(tight) as (client, _):
        con, tx = await lock_wallet(admin, wallet_id)
        try:
            tasks = [
                asyncio.create_task(client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "1"}))
                for _ in range(10)
            ]
            await asyncio.sleep(0.5)
        finally:
            await tx.rollback()  # type: ignore[attr-defined]
            await admin.release(con)
        responses = await asyncio.gather(*tasks)
    statuses = [r.status_code for r in responses]
    assert set(statuses) == {200, 503}
    assert all(r.headers["retry-after"] for r in responses if r.status_code == 503)
    assert await ledger.balance(wallet_id) == Decimal(statuses.count(200))


async def test_batching_can_be_turned_off(settings: Settings, new_wallet, ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("5")
    async with api_client(settings.model_copy(update={"batching": False})) as (client, app):
        assert app.state.batcher is None
        responses = await asyncio.gather(
            *(client.post(op_url(wallet_id), json={"operation_type": "WITHDRAW", "amount": "1"}) for _ in range(8))
        )
    assert sorted(r.status_code for r in responses) == [200] * 5 + [400] * 3
    assert await ledger.balance(wallet_id) == Decimal("0.00")


async def test_metrics_show_requests_latency_and_pool(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    text = (await client.get("/metrics")).text
    assert 'wallet_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "wallet_http_request_duration_seconds_bucket" in text
    for state in ("size", "idle", "in_use", "max"):
        assert f'wallet_db_pool_connections{{state="{state}"}}' in text
    assert metric(text, 'wallet_db_pool_connections{state="max"}') == 20
