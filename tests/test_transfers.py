"""Transfers between wallets, currencies and metadata through the real stack: every answer, every
refusal (which changes nothing), replays, and the ledger's double entry under concurrent load."""

import asyncio
import random
import re
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from ledgercheck import Movement, Outcome, Snapshot, reconcile
from ledgercheck.pg import load
from tests.conftest import Ledger, make_wallet

TRANSFERS = "/api/v1/transfers"


def transfer(source: UUID, destination: UUID, amount: str, **extra: Any) -> dict[str, Any]:
    return {"from_wallet_id": str(source), "to_wallet_id": str(destination), "amount": amount, **extra}


async def test_a_transfer_moves_money_with_two_legs_and_reads_back(client: httpx.AsyncClient, ledger: Ledger) -> None:
    source, destination = await make_wallet(client, "100"), await make_wallet(client, "5")
    r = await client.post(TRANSFERS, json=transfer(source, destination, "30.25", metadata={"order": "A-17", "n": 3}))
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"{TRANSFERS}/{body['id']}"
    assert body["kind"] == "TRANSFER" and body["replayed"] is False
    assert (body["amount"], body["currency"], body["balance"]) == ("30.25", "USD", "69.75")  # the source's balance
    assert body["metadata"] == {"order": "A-17", "n": 3}
    assert "destination" not in str(body) and body["balance"] != "35.25"  # never the destination's balance
    assert (await client.get(f"/api/v1/wallets/{destination}")).json()["balance"] == "35.25"

    got = await client.get(f"{TRANSFERS}/{body['id']}")
    assert got.status_code == 200
    assert got.json() == {
        **{k: v for k, v in body.items() if k not in ("balance", "replayed")},
        "reverses": None,
        "reversed_amount": "0.00",
        "hold_id": None,
    }

    out = (await client.get(f"/api/v1/wallets/{source}/operations")).json()["items"][-1]
    inn = (await client.get(f"/api/v1/wallets/{destination}/operations")).json()["items"][-1]
    assert (out["operation_type"], out["counterparty_wallet_id"], out["amount"]) == (
        "TRANSFER_OUT",
        str(destination),
        "30.25",
    )
    assert (inn["operation_type"], inn["counterparty_wallet_id"], inn["balance_after"]) == (
        "TRANSFER_IN",
        str(source),
        "35.25",
    )
    assert out["transfer_id"] == inn["transfer_id"] == body["id"]
    assert out["metadata"] == inn["metadata"] == {"order": "A-17", "n": 3}
    assert not await ledger.inconsistencies(source) and not await ledger.inconsistencies(destination)


async def test_deposits_and_withdrawals_are_transfers_with_the_outside_world(client: httpx.AsyncClient) -> None:
    wallet_id = await make_wallet(client)
    r = await client.post(
        f"/api/v1/wallets/{wallet_id}/operation",
        json={"operation_type": "DEPOSIT", "amount": "7", "metadata": {"source": "card"}},
    )
    assert r.status_code == 200
    assert r.json()["metadata"] == {"source": "card"} and r.json()["currency"] == "USD"
    got = (await client.get(f"{TRANSFERS}/{r.json()['transfer_id']}")).json()
    assert (got["kind"], got["from_wallet_id"], got["to_wallet_id"], got["amount"]) == (
        "DEPOSIT",
        None,
        str(wallet_id),
        "7.00",
    )


async def test_a_replayed_transfer_returns_the_original_and_another_request_with_its_key_is_refused(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    source, destination = await make_wallet(client, "100"), await make_wallet(client)
    headers = {"Idempotency-Key": f"t-{uuid4()}"}
    first = await client.post(TRANSFERS, json=transfer(source, destination, "10", metadata={"a": 1}), headers=headers)
    await client.post(f"/api/v1/wallets/{source}/operation", json={"operation_type": "DEPOSIT", "amount": "1"})
    again = await client.post(TRANSFERS, json=transfer(source, destination, "10", metadata={"a": 1}), headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "replayed": True}  # the original balance, not today's
    for other in (
        transfer(source, destination, "11", metadata={"a": 1}),
        transfer(source, destination, "10", metadata={"a": 2}),
    ):
        r = await client.post(TRANSFERS, json=other, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused", r.text
    assert await ledger.balance(source) == Decimal("91.00")
    assert await ledger.balance(destination) == Decimal("10.00")


@pytest.mark.parametrize(
    ("case", "status", "code", "detail"),
    [
        ("unknown source", 404, "wallet_not_found", "(the source)"),
        ("unknown destination", 404, "wallet_not_found", "(the destination)"),
        ("insufficient funds", 400, "insufficient_funds", "needs 0.01 more"),
        ("same wallet", 422, "same_wallet", "to itself"),
        ("currency mismatch", 422, "currency_mismatch", "holds EUR"),
        ("fraction of a cent", 422, "invalid_amount", "1.001"),
        ("zero", 422, "invalid_amount", "not a positive number"),
        ("metadata not an object", 422, "invalid_metadata", "JSON object"),
        ("metadata too big", 422, "invalid_metadata", "4096 bytes"),
        ("metadata with NUL", 422, "invalid_metadata", "NUL"),
        ("metadata number", 422, "invalid_metadata", "64-bit float"),
        ("bad id", 422, "validation_error", "from_wallet_id"),
    ],
)
async def test_a_refused_transfer_changes_nothing(
    client: httpx.AsyncClient, ledger: Ledger, case: str, status: int, code: str, detail: str
) -> None:
    source, destination, euro = (
        await make_wallet(client, "10"),
        await make_wallet(client, "1"),
        await make_wallet(client, "1", "EUR"),
    )
    body = {
        "unknown source": transfer(uuid4(), destination, "1"),
        "unknown destination": transfer(source, uuid4(), "1"),
        "insufficient funds": transfer(source, destination, "10.01"),
        "same wallet": transfer(source, source, "1"),
        "currency mismatch": transfer(source, euro, "1"),
        "fraction of a cent": transfer(source, destination, "1.001"),
        "zero": transfer(source, destination, "0"),
        "metadata not an object": transfer(source, destination, "1", metadata=[1]),
        "metadata too big": transfer(source, destination, "1", metadata={"x": "y" * 5000}),
        "metadata with NUL": transfer(source, destination, "1", metadata={"x": "a\x00b"}),
        "bad id": {**transfer(source, destination, "1"), "from_wallet_id": "nope"},
    }.get(case)
    if case == "metadata number":
        raw = b'{"from_wallet_id": "%s", "to_wallet_id": "%s", "amount": "1", "metadata": {"x": 1e400}}'
        r = await client.post(TRANSFERS, content=raw % (str(source).encode(), str(destination).encode()))
    else:
        r = await client.post(TRANSFERS, json=body)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert detail in r.json()["detail"], r.json()["detail"]
    if code == "insufficient_funds":
        assert r.json()["balance"] == "10.00"
    assert (await ledger.balance(source), await ledger.balance(destination)) == (Decimal(10), Decimal(1))
    assert len(await ledger.entries(source)) == len(await ledger.entries(destination)) == 1


async def test_an_unknown_transfer_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{TRANSFERS}/{uuid4()}")
    assert (r.status_code, r.json()["code"]) == (404, "transfer_not_found")


@pytest.mark.parametrize(
    ("currency", "amount", "shown"), [("JPY", "1500", "1500"), ("KWD", "1.5", "1.500"), ("EUR", "2.5", "2.50")]
)
async def test_amounts_follow_the_currency(client: httpx.AsyncClient, currency: str, amount: str, shown: str) -> None:
    source, destination = await make_wallet(client, "10000", currency), await make_wallet(client, "0", currency)
    r = await client.post(TRANSFERS, json=transfer(source, destination, amount))
    assert r.status_code == 201, r.text
    assert (r.json()["amount"], r.json()["currency"]) == (shown, currency)
    assert (await client.get(f"/api/v1/wallets/{destination}")).json()["balance"] == shown


@pytest.mark.parametrize(("currency", "amount"), [("JPY", "1.5"), ("JPY", "0.01"), ("KWD", "0.0001"), ("USD", "1.001")])
async def test_an_amount_finer_than_the_currency_is_refused(
    client: httpx.AsyncClient, currency: str, amount: str
) -> None:
    wallet_id = await make_wallet(client, "100", currency)
    r = await client.post(
        f"/api/v1/wallets/{wallet_id}/operation", json={"operation_type": "DEPOSIT", "amount": amount}
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_amount"), r.text


@pytest.mark.parametrize("currency", ["XXX", "usd", "EURO", 7])
async def test_an_unknown_currency_is_refused(client: httpx.AsyncClient, currency: Any) -> None:
    r = await client.post("/api/v1/wallets", json={"currency": currency})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_currency"), r.text


async def test_concurrent_transfers_deposits_and_withdrawals_keep_the_ledger_exact(
    client: httpx.AsyncClient, admin: asyncpg.Pool
) -> None:
    """64 concurrent clients, random transfers (both directions, so A->B meets B->A), deposits and
    withdrawals among 20 wallets: no 5xx; every acknowledged request is in the ledger once, with both legs
    of a transfer, and nothing else is; every transfer is balanced; every balance is exact."""
    wallets = [await make_wallet(client, "100") for _ in range(20)]
    rng = random.Random(11)
    movements: list[Movement] = []

    async def one_client(n: int) -> None:
        for i in range(25):
            a, b = rng.sample(wallets, 2)
            amount = Decimal(rng.randint(1, 3000)) / 100
            kind, key = rng.random(), f"conc-{uuid4()}-{n}-{i}"
            source: str | None
            destination: str | None
            if kind < 0.6:
                source, destination = str(a), str(b)
                r = await client.post(TRANSFERS, json=transfer(a, b, str(amount)), headers={"Idempotency-Key": key})
                assert r.status_code in (201, 400), r.text
                told = r.json()["id"] if r.status_code == 201 else None
            else:
                op = "DEPOSIT" if kind < 0.8 else "WITHDRAW"
                source, destination = (None, str(a)) if op == "DEPOSIT" else (str(a), None)
                r = await client.post(
                    f"/api/v1/wallets/{a}/operation",
                    json={"operation_type": op, "amount": str(amount)},
                    headers={"Idempotency-Key": key},
                )
                assert r.status_code in (200, 400), r.text
                told = r.json()["transfer_id"] if r.status_code == 200 else None
            assert r.status_code < 300 or r.json()["code"] == "insufficient_funds", r.text
            outcome: Outcome = "acked" if r.status_code < 300 else "refused"
            movements.append(Movement(key, source, destination, amount, outcome, told))

    await asyncio.gather(*(one_client(n) for n in range(64)))
    found = await load(admin, [str(w) for w in wallets])
    openings = {str(w): Snapshot(Decimal(100), 1) for w in wallets}
    report = reconcile(openings, movements, found.entries, found.closings)
    assert report.ok, "\n".join(report.findings[:20])
    assert report.counts["unbalanced"] == 0 and found.inconsistent == []
    assert min(c.balance for c in found.closings.values()) >= 0
    assert report.applied == sum(m.outcome == "acked" for m in movements) > 0


async def test_transfers_into_a_busy_wallet_share_its_calls(
    client: httpx.AsyncClient, admin: asyncpg.Pool, ledger: Ledger
) -> None:
    """A merchant whose call is in flight: payments into it from many payers queue and go together."""
    merchant = await make_wallet(client)
    payers = [await make_wallet(client, "10") for _ in range(30)]

    def metric(text: str, name: str) -> float:
        match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
        assert match, name
        return float(match.group(1))

    before = metric((await client.get("/metrics")).text, "wallet_batch_operations_count")
    async with admin.acquire() as con, con.transaction():  # rolled back and released even if the wait fails
        await con.execute("SELECT 1 FROM wallet.wallets WHERE id = $1 FOR UPDATE", merchant)  # a long call holds it

        # The metrics are the process's (every app in it, earlier tests' too): count from their values now.
        # A payment has reached the batcher when it is queued or was taken into a call (the first call may
        # take several, if they arrive before its task starts).
        def arrived(text: str) -> float:
            return metric(text, "wallet_batch_queued_operations") + metric(text, "wallet_batch_operations_sum")

        base = arrived((await client.get("/metrics")).text)
        sent = [asyncio.create_task(client.post(TRANSFERS, json=transfer(p, merchant, "1"))) for p in payers]
        # Release the merchant only once every payment has arrived: the first call waits on the lock, the
        # rest queue behind it.
        deadline = asyncio.get_running_loop().time() + 15
        while (got := arrived((await client.get("/metrics")).text) - base) < 30:
            assert asyncio.get_running_loop().time() < deadline, f"only {got:.0f} of the 30 payments arrived"
            await asyncio.sleep(0.05)
    answers = await asyncio.gather(*sent)
    assert [r.status_code for r in answers] == [201] * 30
    calls = metric((await client.get("/metrics")).text, "wallet_batch_operations_count") - before
    assert calls <= 3, f"30 payments into one busy wallet took {calls:.0f} calls"
    assert await ledger.balance(merchant) == Decimal(30)
