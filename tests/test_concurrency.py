"""The hot wallet: thousands of concurrent deposits and withdrawals on one wallet over real HTTP,
through PgBouncer. Nothing may be lost or doubled, and nothing may fail with a 5xx."""

import asyncio
import random
from decimal import Decimal
from uuid import UUID

import asyncpg
import httpx

from ledgercheck import Movement, Outcome, Snapshot, reconcile
from ledgercheck.pg import load

REQUESTS = 2000
CONCURRENCY = 64


async def test_2000_concurrent_mixed_operations_on_one_wallet_keep_the_ledger_exact(
    client: httpx.AsyncClient,
    new_wallet,
    admin: asyncpg.Pool,  # type: ignore[no-untyped-def]
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

    async def send(op: str, amount: Decimal, camel: bool) -> tuple[Movement, int]:
        body = {
            "operationType" if camel else "operation_type": op,
            "amount": str(amount) if camel else float(amount),
        }
        async with gate:
            r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", json=body)
        # No Idempotency-Key: the server makes one; an applied operation is found by the transfer id it answered.
        wallet = str(wallet_id)
        source, destination = (None, wallet) if op == "DEPOSIT" else (wallet, None)
        outcome: Outcome = "acked" if r.status_code == 200 else "refused" if r.status_code == 400 else "unknown"
        told = r.json()["transfer_id"] if r.status_code == 200 else None
        return Movement(None, source, destination, amount, outcome, told), r.status_code

    results = await asyncio.gather(*(send(*op) for op in ops))
    statuses = [s for _, s in results]
    assert not [s for s in statuses if s >= 500], "5xx under concurrency"
    assert set(statuses) <= {200, 400}

    found = await load(admin, [str(wallet_id)])
    openings = {str(wallet_id): Snapshot(initial, 1)}
    report = reconcile(openings, [m for m, _ in results], found.entries, found.closings)
    # Every acknowledged operation exactly once, nothing else, gap-free seq, each balance_after the running
    # sum, and the balance = the opening + the acknowledged operations.
    assert report.ok, "\n".join(report.findings[:20])
    assert report.applied == statuses.count(200)
    assert found.inconsistent == []
    assert statuses.count(200) > REQUESTS // 2  # the run really exercised both outcomes
