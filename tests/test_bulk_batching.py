"""Bulk requests on a busy wallet share its calls (live batching): each request's elements stay together
and in order, a call never takes more than 1,000 elements, and every answer is the one the request would
have had alone. Atomic requests never share a call. The bulk answer's fast serializer writes exactly what
the documented models write."""

import asyncio
import datetime
import uuid
from decimal import Decimal
from typing import Any, get_type_hints
from uuid import UUID

import asyncpg
import httpx

from api.schemas import (
    BULK_RESPONSE_JSON,
    BulkProblem,
    BulkProblemDict,
    BulkResponse,
    BulkTransferResult,
    BulkTransferResultDict,
)
from tests.conftest import Ledger, make_wallet
from tests.test_batching import lock_wallet
from tests.test_bulk import BULK, calls, element


async def wait_for_lock_waiters(admin: asyncpg.Pool, wallet_id: UUID) -> None:
    """Until a call of the API waits on the wallet's row lock: the next requests queue behind it."""
    for _ in range(200):
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%post_transfers%'"
        )
        if waiting:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"no call waited on wallet {wallet_id}'s lock")


async def test_bulk_requests_on_a_busy_wallet_share_calls_and_keep_their_elements_together(
    client: httpx.AsyncClient, admin: asyncpg.Pool, ledger: Ledger
) -> None:
    wallet = await make_wallet(client, "1000")
    other = await make_wallet(client, "0")
    before = (await client.get("/metrics")).text
    con, tx = await lock_wallet(admin, wallet)
    try:
        first = asyncio.create_task(client.post(BULK, json={"transfers": [element(None, wallet, "1")]}))
        await wait_for_lock_waiters(admin, wallet)
        # Behind it: 12 bulk requests of 100 (1,200 elements: more than one call takes) and single deposits.
        bulks = [
            client.post(
                BULK,
                json={
                    "transfers": [
                        element(None, wallet, "1", idempotency_key=f"bb-{wallet}-{n}-{i}")
                        if i % 2 == 0
                        else element(wallet, other, "1", idempotency_key=f"bb-{wallet}-{n}-{i}")
                        for i in range(100)
                    ]
                },
            )
            for n in range(12)
        ]
        singles = [
            client.post(f"/api/v1/wallets/{wallet}/operation", json={"operation_type": "DEPOSIT", "amount": "1"})
            for _ in range(10)
        ]
        pending = asyncio.gather(*bulks, *singles)
        await asyncio.sleep(0.5)  # let every request reach the batcher
    finally:
        await tx.rollback()
        await admin.release(con)
    answers = await pending
    assert (await first).status_code == 200
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers if r.status_code != 200][:2]
    after = (await client.get("/metrics")).text
    made = calls(after, "post_transfers") - calls(before, "post_transfers")
    assert 3 <= made <= 6, f"23 requests made {made} calls"  # 1 + at least 2 for 1,210 elements
    for r in answers[:12]:
        results = r.json()["results"]
        assert len(results) == 100 and all(x["status"] == 201 and not x["replayed"] for x in results)
        # In order and together: the source's entries of one request have consecutive seq numbers.
        seqs = [
            await admin.fetchval(
                "SELECT seq FROM wallet.operations WHERE wallet_id = $1 AND transfer_id = $2", wallet, UUID(x["id"])
            )
            for x in results
        ]
        assert seqs == list(range(seqs[0], seqs[0] + 100)), "a bulk request's elements were split or reordered"
    # Every call of the batcher took at most 1,000 elements: the entries of one call share its moment.
    sizes = await admin.fetch(
        "SELECT created_at, count(*) AS n FROM wallet.operations WHERE wallet_id = $1 GROUP BY created_at", wallet
    )
    assert max(s["n"] for s in sizes) <= 1000 + 1  # + the wallet's opening entry, should it share a moment
    assert await ledger.balance(wallet) == Decimal("1000") + 1 + 600 - 600 + 10
    assert await ledger.balance(other) == Decimal("600")
    assert not await ledger.inconsistencies(wallet) and not await ledger.inconsistencies(other)


async def test_atomic_bulk_requests_never_share_a_call(
    client: httpx.AsyncClient, admin: asyncpg.Pool, ledger: Ledger
) -> None:
    wallet = await make_wallet(client, "10")
    before = (await client.get("/metrics")).text
    con, tx = await lock_wallet(admin, wallet)
    try:
        first = asyncio.create_task(client.post(BULK, json={"transfers": [element(None, wallet, "1")]}))
        await wait_for_lock_waiters(admin, wallet)
        atomics = [
            client.post(
                BULK, json={"transfers": [element(None, wallet, "1"), element(wallet, None, "1")], "atomic": True}
            )
            for _ in range(4)
        ]
        refused = client.post(BULK, json={"transfers": [element(wallet, None, "1000")], "atomic": True})
        pending = asyncio.gather(*atomics, refused)
        await asyncio.sleep(0.3)
    finally:
        await tx.rollback()
        await admin.release(con)
    *applied, no = await pending
    assert (await first).status_code == 200
    assert all(r.status_code == 200 for r in applied) and no.status_code == 400
    after = (await client.get("/metrics")).text
    assert calls(after, "post_transfers_atomic") - calls(before, "post_transfers_atomic") == 5
    assert await ledger.balance(wallet) == Decimal("11")
    assert not await ledger.inconsistencies(wallet)


def test_the_bulk_serializer_writes_what_the_models_write() -> None:
    assert set(get_type_hints(BulkTransferResultDict)) == set(BulkTransferResult.model_fields)
    assert set(get_type_hints(BulkProblemDict)) == set(BulkProblem.model_fields)
    now = datetime.datetime(2026, 12, 2, 8, 6, 13, 123456, tzinfo=datetime.UTC)
    ok: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": "TRANSFER",
        "from_wallet_id": uuid.uuid4(),
        "to_wallet_id": uuid.uuid4(),
        "amount": Decimal("1.50"),
        "currency": "KWD",
        "metadata": {"order": "A-17", "n": 1.5, "deep": {"x": [1, None, True]}},
        "created_at": now,
        "balance": Decimal("100.125"),
        "replayed": True,
        "status": 201,
    }
    problem: dict[str, Any] = {
        "status": 400,
        "code": "insufficient_funds",
        "title": "Insufficient funds",
        "detail": 'wallet "x" has 3.00\n',
        "balance": "3.00",
    }
    models = BulkResponse.model_construct(
        results=[BulkTransferResult.model_construct(**ok), BulkProblem.model_construct(**problem)]
    )
    fast = BULK_RESPONSE_JSON.dump_json({"results": [ok, problem]})  # type: ignore[list-item]
    assert fast == models.model_dump_json().encode()
    assert b'"amount":"1.50"' in fast and b'"created_at":"2026-12-02T08:06:13.123456Z"' in fast
