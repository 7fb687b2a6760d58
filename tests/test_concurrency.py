"""The hot wallet: thousands of concurrent deposits and withdrawals on one wallet over real HTTP,
through PgBouncer. Nothing may be lost or doubled, and nothing may fail with a 5xx."""

import asyncio
import random
from decimal import Decimal
from uuid import UUID

import httpx

from tests.conftest import Ledger

REQUESTS = 2000
CONCURRENCY = 64


async def test_2000_concurrent_mixed_operations_on_one_wallet_keep_the_ledger_exact(
    client: httpx.AsyncClient,
    new_wallet,
    ledger: Ledger,  # type: ignore[no-untyped-def]
) -> None:
    initial = Decimal("100.00")
    wallet_id: UUID = await new_wallet(str(initial))
    rng = random.Random(20261125)
    ops = [
        (
            "DEPOSIT" if rng.random() < 0.5 else "WITHDRAW",
            Decimal(rng.randint(1, 2000)) / 100,
            rng.random() < 0.5,
        )
        for _ in range(REQUESTS)
    ]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def send(op: str, amount: Decimal, camel: bool) -> tuple[str, Decimal, int]:
        body = {
            "operationType" if camel else "operation_type": op,
            "amount": str(amount) if camel else float(amount),
        }
        async with gate:
            r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", json=body)
        return op, amount, r.status_code

    results = await asyncio.gather(*(send(*op) for op in ops))
    statuses = [s for _, _, s in results]
    assert not [s for s in statuses if s >= 500], "5xx under concurrency"
    assert set(statuses) <= {200, 400}
    acknowledged = [(op, amount) for op, amount, s in results if s == 200]
    expected = initial + sum((a if op == "DEPOSIT" else -a) for op, a in acknowledged)

    assert await ledger.balance(wallet_id) == expected
    entries = await ledger.entries(wallet_id)
    assert len(entries) == 1 + len(acknowledged)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert await ledger.inconsistencies(wallet_id) == []
    assert statuses.count(200) > REQUESTS // 2  # the run really exercised both outcomes
