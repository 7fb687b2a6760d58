"""Shared reads: GETs of a busy wallet share database reads, and each still sees every write that was
acknowledged before it arrived (it waits for the NEXT read, never joins the one in flight)."""

import asyncio
import re
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx

from api.domain import Unavailable
from api.reads import SharedReads
from api.settings import Settings
from tests.conftest import api_client, make_wallet


def get_wallet_calls(metrics: str) -> float:
    match = re.search(r'^wallet_db_call_duration_seconds_count\{call="get_wallet"\} ([0-9.e+]+)$', metrics, re.M)
    return float(match.group(1)) if match else 0.0


class Reads:
    """A read function the test releases by hand: each call is one 'database read', answered with its number."""

    def __init__(self) -> None:
        self.started: list[asyncio.Event] = []
        self.release: list[asyncio.Event] = []
        self.fail: dict[int, Exception] = {}

    async def __call__(self, key: UUID) -> Any:
        n = len(self.started)
        self.started.append(asyncio.Event())
        self.release.append(asyncio.Event())
        self.started[n].set()
        await self.release[n].wait()
        if n in self.fail:
            raise self.fail[n]
        return (key, n)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_get_that_arrives_during_a_read_waits_for_the_next_one_and_shares_it() -> None:
    reads = Reads()
    shared = SharedReads(reads)
    wallet = uuid4()
    first = asyncio.create_task(shared.get(wallet))
    await settle()
    assert len(reads.started) == 1
    # Two GETs arrive while read 0 is in flight: neither may take read 0's answer (it may predate them).
    late = [asyncio.create_task(shared.get(wallet)) for _ in range(2)]
    await settle()
    assert len(reads.started) == 1, "a GET must not start a second read while one is in flight"
    reads.release[0].set()
    assert await first == (wallet, 0)
    await settle()
    assert len(reads.started) == 2, "the waiting GETs get a read of their own once read 0 ended"
    assert not any(t.done() for t in late)
    reads.release[1].set()
    assert [await t for t in late] == [(wallet, 1), (wallet, 1)]
    # Another wallet is never held up by this one, and a quiet wallet's GET goes at once.
    other = uuid4()
    task = asyncio.create_task(shared.get(other))
    await settle()
    assert len(reads.started) == 3
    reads.release[2].set()
    assert await task == (other, 2)
    assert not shared._in_flight and not shared._next


async def test_an_error_goes_to_the_gets_of_that_read_only_and_a_vanished_client_cancels_nothing() -> None:
    reads = Reads()
    reads.fail[0] = Unavailable("database unavailable")
    shared = SharedReads(reads)
    wallet = uuid4()
    failing = [asyncio.create_task(shared.get(wallet)) for _ in range(3)]  # the 2nd and 3rd share read 1
    await settle()
    gone = asyncio.create_task(shared.get(wallet))  # also waits for read 1, then goes away
    await settle()
    reads.release[0].set()
    first = await asyncio.gather(failing[0], return_exceptions=True)
    assert isinstance(first[0], Unavailable)
    await settle()
    gone.cancel()
    await settle()
    reads.release[1].set()
    assert [await t for t in failing[1:]] == [(wallet, 1), (wallet, 1)]
    assert gone.cancelled()
    assert len(reads.started) == 2


async def test_shutdown_answers_waiting_gets_with_unavailable() -> None:
    reads = Reads()
    shared = SharedReads(reads)
    wallet = uuid4()
    gets = [asyncio.create_task(shared.get(wallet)) for _ in range(3)]
    await settle()
    for task in list(shared._tasks):
        task.cancel()
    outcomes = await asyncio.gather(*gets, return_exceptions=True)
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    assert not shared._in_flight and not shared._next


async def test_concurrent_gets_share_reads_and_each_sees_the_writes_acknowledged_before_it(
    settings: Settings,
) -> None:
    """Writers deposit and then read their wallet at once, while readers hammer the same wallet: every
    GET after an acknowledged deposit shows at least that deposit's balance; far fewer database reads
    than GETs."""
    async with api_client(settings) as (client, _):
        wallet = await make_wallet(client, "0")
        before = get_wallet_calls((await client.get("/metrics")).text)
        stale: list[str] = []
        gets = 0
        done = asyncio.Event()

        async def writer(n: int) -> None:
            nonlocal gets
            for i in range(10):
                r = await client.post(
                    f"/api/v1/wallets/{wallet}/operation",
                    json={"operation_type": "DEPOSIT", "amount": "1.00"},
                    headers={"Idempotency-Key": f"reads-{wallet}-{n}-{i}"},
                )
                assert r.status_code == 200, r.text
                acknowledged = Decimal(r.json()["balance"])
                seen = await client.get(f"/api/v1/wallets/{wallet}")
                gets += 1
                assert seen.status_code == 200, seen.text
                if Decimal(seen.json()["balance"]) < acknowledged:
                    stale.append(f"acknowledged {acknowledged}, then read {seen.json()['balance']}")

        async def reader() -> None:
            nonlocal gets
            while not done.is_set():
                r = await client.get(f"/api/v1/wallets/{wallet}")
                gets += 1
                assert r.status_code == 200, r.text

        readers = [asyncio.create_task(reader()) for _ in range(30)]
        await asyncio.gather(*(writer(n) for n in range(20)))
        done.set()
        await asyncio.gather(*readers)
        calls = get_wallet_calls((await client.get("/metrics")).text) - before
        final = await client.get(f"/api/v1/wallets/{wallet}")
    assert not stale, stale[:5]
    assert final.json()["balance"] == "200.00"
    assert gets > 200
    assert calls < gets / 2, f"{gets} GETs made {calls} database reads: they did not share"


async def test_gets_of_a_wallet_that_does_not_exist_all_get_404(client: httpx.AsyncClient) -> None:
    missing = uuid4()
    answers = await asyncio.gather(*(client.get(f"/api/v1/wallets/{missing}") for _ in range(40)))
    assert {r.status_code for r in answers} == {404}
    assert {r.json()["code"] for r in answers} == {"wallet_not_found"}
    assert all(str(missing) in r.json()["detail"] for r in answers)
