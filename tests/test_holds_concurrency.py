"""Holds under real concurrency, through PgBouncer: 64 clients on one wallet authorize, capture (all,
part, to another wallet), void, capture twice, withdraw and deposit while short holds expire. Every
answer is recorded; at the end the database must agree with all of them and with itself."""

import asyncio
import random
from collections import Counter
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from tests.conftest import Ledger, LiveServer, make_wallet

CLIENTS = 64
ROUNDS = 6


class Record:
    """What the clients were told."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.holds: dict[str, Decimal] = {}  # acknowledged holds and their amounts
        self.captures: dict[str, dict[str, Any]] = {}  # hold id -> the capture's answer
        self.voids: set[str] = set()
        self.expired_refusals: set[str] = set()  # holds whose capture or void was refused as expired
        self.withdrawn = Decimal(0)
        self.deposited = Decimal(0)
        self.lowest_available: Decimal | None = None

    def saw(self, what: str, r: httpx.Response) -> Any:
        self.statuses[what, r.status_code] += 1
        assert r.status_code < 500, (what, r.status_code, r.text)
        body = r.json()
        if "available_balance" in body and body.get("wallet_id") != self.merchant:
            value = Decimal(body["available_balance"])
            self.lowest_available = value if self.lowest_available is None else min(self.lowest_available, value)
        return body

    merchant: str = ""


async def one_client(client: httpx.AsyncClient, payer: UUID, merchant: UUID, rec: Record, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(ROUNDS):
        action = rng.random()
        if action < 0.1:
            amount = Decimal(rng.randint(1, 20))
            r = await client.post(
                f"/api/v1/wallets/{payer}/operation", json={"operation_type": "DEPOSIT", "amount": str(amount)}
            )
            rec.saw("deposit", r)
            assert r.status_code == 200, r.text
            rec.deposited += amount
            continue
        if action < 0.25:
            amount = Decimal(rng.randint(1, 30))
            r = await client.post(
                f"/api/v1/wallets/{payer}/operation", json={"operation_type": "WITHDRAW", "amount": str(amount)}
            )
            body = rec.saw("withdraw", r)
            assert r.status_code in (200, 400), r.text
            if r.status_code == 200:
                rec.withdrawn += amount
            else:
                assert body["code"] == "insufficient_funds"
            continue
        amount = Decimal(rng.randint(1, 40))
        expires = rng.choice([1, 1, 2, 60])
        r = await client.post(
            f"/api/v1/wallets/{payer}/holds", json={"amount": str(amount), "expires_in_seconds": expires}
        )
        body = rec.saw("hold", r)
        if r.status_code == 400:
            assert body["code"] == "insufficient_funds"
            continue
        assert r.status_code == 201, r.text
        hold_id = body["id"]
        rec.holds[hold_id] = amount
        await asyncio.sleep(rng.choice([0, 0, 0.05, 0.5, 1.5]))  # some outlive their expiry
        then = rng.random()
        if then < 0.2:
            continue  # left to expire (or to last past the run)
        if then < 0.4:
            r = await client.post(f"/api/v1/holds/{hold_id}/void")
            body = rec.saw("void", r)
            if r.status_code == 200:
                rec.voids.add(hold_id)
            else:
                assert r.status_code == 409 and "is expired" in body["detail"], r.text
                rec.expired_refusals.add(hold_id)
            continue
        capture: dict[str, Any] = {}
        if rng.random() < 0.5:
            capture["amount"] = str(rng.randint(1, int(amount)))
        if rng.random() < 0.5:
            capture["to_wallet_id"] = str(merchant)
        tries = [client.post(f"/api/v1/holds/{hold_id}/capture", json=capture)]
        if rng.random() < 0.3:  # the same capture twice at once, without a key: one may win
            tries.append(client.post(f"/api/v1/holds/{hold_id}/capture", json=capture))
        answers = await asyncio.gather(*tries)
        won = 0
        for r in answers:
            body = rec.saw("capture", r)
            if r.status_code == 200:
                won += 1
                assert body["status"] == "captured"
                rec.captures[hold_id] = body
            else:
                assert r.status_code == 409 and body["code"] == "hold_not_active", r.text
                if "is expired" in body["detail"]:
                    rec.expired_refusals.add(hold_id)
        assert won <= 1, f"hold {hold_id} captured {won} times"


async def test_64_clients_on_one_wallet_never_overdraw_and_capture_each_hold_at_most_once(
    live_server: LiveServer, ledger: Ledger, admin: asyncpg.Pool
) -> None:
    # A client of its own: no keep-alive connection left idle by earlier tests, which the server may be
    # closing (after 5 s) just as it is reused.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30, limits=limits) as client:
        await run_clients(client, ledger, admin)


async def run_clients(client: httpx.AsyncClient, ledger: Ledger, admin: asyncpg.Pool) -> None:
    payer, merchant = await make_wallet(client, "1000"), await make_wallet(client, "0")
    rec = Record()
    rec.merchant = str(merchant)
    stop = asyncio.Event()

    async def watch() -> None:  # the stored state, as the clients work: never held above the balance
        while not stop.is_set():
            row = await admin.fetchrow("SELECT balance, held FROM wallet.wallets WHERE id = $1", payer)
            assert row["held"] <= row["balance"], dict(row)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(one_client(client, payer, merchant, rec, seed) for seed in range(CLIENTS)))
    stop.set()
    await watcher

    await asyncio.sleep(2.1)  # past every short expiry
    await admin.fetchval("SELECT wallet.expire_holds()")
    swept_at = await admin.fetchval("SELECT now()")
    holds = {
        str(h["id"]): h
        for h in await admin.fetch(
            "SELECT id, amount, status, expires_at, closed_at, captured_amount, capture_transfer_id, "
            "capture_to_wallet_id FROM wallet.holds WHERE wallet_id = $1",
            payer,
        )
    }
    assert set(holds) == set(rec.holds), "a hold was lost or made without an answer"
    assert all(holds[h]["amount"] == a for h, a in rec.holds.items())
    # Every acknowledged capture is the hold's one capture, moved by exactly one transfer of its amount.
    for hold_id, answer in rec.captures.items():
        h = holds[hold_id]
        assert h["status"] == "captured" and str(h["capture_transfer_id"]) == answer["transfer_id"]
        assert h["captured_amount"] == Decimal(answer["captured_amount"])
        assert h["closed_at"] < h["expires_at"], "captured after it expired"
        legs = await admin.fetch("SELECT * FROM wallet.operations WHERE transfer_id = $1", h["capture_transfer_id"])
        assert len(legs) == (2 if h["capture_to_wallet_id"] else 1)
        assert all(leg["amount"] == h["captured_amount"] for leg in legs)
    assert {h for h, row in holds.items() if row["status"] == "captured"} == set(rec.captures)
    assert {h for h, row in holds.items() if row["status"] == "voided"} == rec.voids
    assert all(holds[h]["status"] == "expired" for h in rec.expired_refusals)
    assert not [h for h, row in holds.items() if row["status"] == "active" and row["expires_at"] <= swept_at]
    # The money: the payer's balance moved by exactly what its clients were told; nothing else moved.
    to_merchant = sum((Decimal(a["captured_amount"]) for a in rec.captures.values() if a["to_wallet_id"]), Decimal(0))
    withdrawn_by_capture = sum(
        (Decimal(a["captured_amount"]) for a in rec.captures.values() if not a["to_wallet_id"]), Decimal(0)
    )
    expected = Decimal(1000) + rec.deposited - rec.withdrawn - to_merchant - withdrawn_by_capture
    assert await ledger.balance(payer) == expected
    assert await ledger.balance(merchant) == to_merchant
    held = await admin.fetchval("SELECT held FROM wallet.wallets WHERE id = $1", payer)
    assert held == sum((row["amount"] for row in holds.values() if row["status"] == "active"), Decimal(0))
    assert rec.lowest_available is not None and rec.lowest_available >= 0
    assert not await ledger.inconsistencies(payer) and not await ledger.inconsistencies(merchant)
    # The run exercised what it claims to.
    for kind in ("hold", "capture", "void", "withdraw"):
        assert any(n for (what, _), n in rec.statuses.items() if what == kind), kind
    assert rec.captures and rec.voids and rec.expired_refusals, rec.statuses
    assert any(row["status"] == "expired" for row in holds.values())
