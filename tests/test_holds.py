"""Holds (two-step payments) through the real stack: authorize, capture (all, part, to another wallet),
void, expire; the available balance every other movement is checked against; keys; every refusal,
which changes nothing."""

import asyncio
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.settings import Settings
from tests.conftest import Ledger, api_client, make_wallet

HOLDS = "/api/v1/holds"


async def hold(client: httpx.AsyncClient, wallet_id: UUID, amount: str, **extra: Any) -> dict[str, Any]:
    headers = extra.pop("headers", None)
    r = await client.post(f"/api/v1/wallets/{wallet_id}/holds", json={"amount": amount, **extra}, headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def balances(client: httpx.AsyncClient, wallet_id: UUID) -> tuple[str, str]:
    body = (await client.get(f"/api/v1/wallets/{wallet_id}")).json()
    return body["balance"], body["available_balance"]


def seconds(body: dict[str, Any], start: str, end: str) -> float:
    return (datetime.fromisoformat(body[end]) - datetime.fromisoformat(body[start])).total_seconds()


async def test_a_hold_reserves_money_without_moving_it(client: httpx.AsyncClient, ledger: Ledger) -> None:
    wallet_id = await make_wallet(client, "100")
    r = await client.post(
        f"/api/v1/wallets/{wallet_id}/holds", json={"amount": "30.25", "expires_in_seconds": 600, "metadata": {"o": 7}}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"{HOLDS}/{body['id']}"
    assert (body["wallet_id"], body["amount"], body["currency"], body["status"]) == (
        str(wallet_id),
        "30.25",
        "USD",
        "active",
    )
    assert (body["captured_amount"], body["transfer_id"], body["closed_at"], body["replayed"]) == (
        None,
        None,
        None,
        False,
    )
    assert body["metadata"] == {"o": 7} and body["available_balance"] == "69.75"
    assert seconds(body, "created_at", "expires_at") == 600
    assert await balances(client, wallet_id) == ("100.00", "69.75")
    assert len(await ledger.entries(wallet_id)) == 1  # the opening deposit only: a hold writes no entry
    got = await client.get(body["location"] if "location" in body else r.headers["location"])
    assert got.status_code == 200 and got.json() == {k: v for k, v in body.items() if k != "replayed"}


async def test_a_hold_lasts_an_hour_by_default(client: httpx.AsyncClient) -> None:
    body = await hold(client, await make_wallet(client, "1"), "1")
    assert seconds(body, "created_at", "expires_at") == 3600


async def test_withdrawals_transfers_and_holds_take_only_the_available_balance(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    wallet_id, other = await make_wallet(client, "100"), await make_wallet(client)
    await hold(client, wallet_id, "60")
    refused = [
        await client.post(
            f"/api/v1/wallets/{wallet_id}/operation", json={"operation_type": "WITHDRAW", "amount": "41"}
        ),
        await client.post(
            "/api/v1/transfers", json={"from_wallet_id": str(wallet_id), "to_wallet_id": str(other), "amount": "40.01"}
        ),
        await client.post(f"/api/v1/wallets/{wallet_id}/holds", json={"amount": "40.01"}),
    ]
    for r in refused:
        assert r.status_code == 400 and r.json()["code"] == "insufficient_funds", r.text
        assert "100.00" in r.json()["detail"] and "40.00" in r.json()["detail"]  # the balance and the available
    assert "(60.00 is held)" in refused[0].json()["detail"]
    assert await balances(client, wallet_id) == ("100.00", "40.00")
    r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", json={"operation_type": "WITHDRAW", "amount": "40"})
    assert r.status_code == 200 and r.json()["balance"] == "60.00"
    assert await balances(client, wallet_id) == ("60.00", "0.00")
    assert not await ledger.inconsistencies(wallet_id)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": "0"}, 422, "invalid_amount"),
        ({"amount": "1.001"}, 422, "invalid_amount"),
        ({"amount": "-1"}, 422, "invalid_amount"),
        ({}, 422, "validation_error"),
        ({"amount": "1", "expires_in_seconds": 0}, 422, "validation_error"),
        ({"amount": "1", "expires_in_seconds": 2_592_001}, 422, "validation_error"),
        ({"amount": "1", "expires_in_seconds": "60"}, 422, "validation_error"),
        ({"amount": "1", "expires_in_seconds": 1.5}, 422, "validation_error"),
        ({"amount": "1", "metadata": [1]}, 422, "invalid_metadata"),
        ({"amount": "1", "status": "captured"}, 422, "validation_error"),
        ({"amount": "10.01"}, 400, "insufficient_funds"),
    ],
)
async def test_a_refused_hold_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    wallet_id = await make_wallet(client, "10")
    r = await client.post(f"/api/v1/wallets/{wallet_id}/holds", json=body)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert await balances(client, wallet_id) == ("10.00", "10.00")


async def test_the_longest_hold_is_thirty_days(client: httpx.AsyncClient) -> None:
    body = await hold(client, await make_wallet(client, "1"), "1", expires_in_seconds=2_592_000)
    assert seconds(body, "created_at", "expires_at") == 2_592_000


async def test_a_hold_on_an_unknown_wallet_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post(f"/api/v1/wallets/{uuid4()}/holds", json={"amount": "1"})
    assert r.status_code == 404 and r.json()["code"] == "wallet_not_found"


async def test_a_replayed_hold_returns_the_original_and_another_request_with_its_key_is_refused(
    client: httpx.AsyncClient,
) -> None:
    wallet_id = await make_wallet(client, "10")
    headers = {"Idempotency-Key": f"h-{uuid4()}"}
    first = await hold(client, wallet_id, "4", headers=headers)
    r = await client.post(f"/api/v1/wallets/{wallet_id}/holds", json={"amount": "4"}, headers=headers)
    assert r.status_code == 201 and r.headers["Idempotent-Replayed"] == "true"
    assert r.json()["id"] == first["id"] and r.json()["replayed"] is True
    for other in ({"amount": "5"}, {"amount": "4", "metadata": {"x": 1}}, {"amount": "4", "expires_in_seconds": 60}):
        r = await client.post(f"/api/v1/wallets/{wallet_id}/holds", json=other, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused", r.text
    assert await balances(client, wallet_id) == ("10.00", "6.00")


async def test_capturing_all_of_a_hold_withdraws_it(client: httpx.AsyncClient, ledger: Ledger) -> None:
    wallet_id = await make_wallet(client, "50")
    created = await hold(client, wallet_id, "20", metadata={"ride": 9})
    r = await client.post(f"{HOLDS}/{created['id']}/capture")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["captured_amount"], body["to_wallet_id"], body["replayed"]) == (
        "captured",
        "20.00",
        None,
        False,
    )
    assert body["closed_at"] is not None and body["available_balance"] == "30.00"
    assert await balances(client, wallet_id) == ("30.00", "30.00")
    moved = (await client.get(f"/api/v1/transfers/{body['transfer_id']}")).json()
    assert (moved["kind"], moved["from_wallet_id"], moved["amount"], moved["metadata"], moved["hold_id"]) == (
        "WITHDRAW",
        str(wallet_id),
        "20.00",
        {"ride": 9},  # the hold's metadata when the capture brings none
        created["id"],  # the ledger's link from the money to its hold
    )
    entry = (await client.get(f"/api/v1/wallets/{wallet_id}/operations")).json()["items"][-1]
    assert (entry["operation_type"], entry["transfer_id"]) == ("WITHDRAW", body["transfer_id"])
    assert not await ledger.inconsistencies(wallet_id)


async def test_capturing_part_of_a_hold_to_another_wallet_releases_the_rest(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    payer, merchant = await make_wallet(client, "100"), await make_wallet(client, "1")
    created = await hold(client, payer, "60")
    r = await client.post(
        f"{HOLDS}/{created['id']}/capture",
        json={"amount": "45.50", "to_wallet_id": str(merchant), "metadata": {"final": True}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["captured_amount"], body["to_wallet_id"], body["available_balance"]) == (
        "45.50",
        str(merchant),
        "54.50",
    )
    assert await balances(client, payer) == ("54.50", "54.50")
    assert await balances(client, merchant) == ("46.50", "46.50")
    moved = (await client.get(f"/api/v1/transfers/{body['transfer_id']}")).json()
    assert (moved["kind"], moved["to_wallet_id"], moved["metadata"]) == ("TRANSFER", str(merchant), {"final": True})
    assert moved["hold_id"] == created["id"]
    assert not await ledger.inconsistencies(payer) and not await ledger.inconsistencies(merchant)


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("more than the hold", 422, "invalid_amount"),
        ("fraction of a cent", 422, "invalid_amount"),
        ("unknown destination", 404, "wallet_not_found"),
        ("other currency", 422, "currency_mismatch"),
        ("to itself", 422, "same_wallet"),
        ("unknown field", 422, "validation_error"),
        ("not an object", 422, "validation_error"),
    ],
)
async def test_a_refused_capture_changes_nothing_and_the_hold_stays_active(
    client: httpx.AsyncClient, ledger: Ledger, case: str, status: int, code: str
) -> None:
    payer, euro = await make_wallet(client, "10"), await make_wallet(client, "1", "EUR")
    created = await hold(client, payer, "5")
    body: Any = {
        "more than the hold": {"amount": "5.01"},
        "fraction of a cent": {"amount": "1.001"},
        "unknown destination": {"to_wallet_id": str(uuid4())},
        "other currency": {"to_wallet_id": str(euro)},
        "to itself": {"to_wallet_id": str(payer)},
        "unknown field": {"amount": "1", "wallet_id": str(payer)},
        "not an object": [1],
    }[case]
    r = await client.post(f"{HOLDS}/{created['id']}/capture", json=body)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    got = (await client.get(f"{HOLDS}/{created['id']}")).json()
    assert (got["status"], got["available_balance"]) == ("active", "5.00")
    assert await balances(client, payer) == ("10.00", "5.00")
    assert len(await ledger.entries(payer)) == 1


async def test_a_hold_is_captured_once_and_a_replayed_capture_returns_the_original(client: httpx.AsyncClient) -> None:
    payer = await make_wallet(client, "10")
    created = await hold(client, payer, "8")
    headers = {"Idempotency-Key": f"c-{uuid4()}"}
    first = await client.post(f"{HOLDS}/{created['id']}/capture", json={"amount": "3"}, headers=headers)
    assert first.status_code == 200, first.text
    again = await client.post(f"{HOLDS}/{created['id']}/capture", json={"amount": "3"}, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["transfer_id"] == first.json()["transfer_id"] and again.json()["replayed"] is True
    for body, key in (({"amount": "3"}, None), ({"amount": "2"}, headers), ({}, {"Idempotency-Key": "other"})):
        r = await client.post(f"{HOLDS}/{created['id']}/capture", json=body, headers=key)
        assert r.status_code == 409 and r.json()["code"] == "hold_not_active", r.text
        assert f"is captured (3.00, transfer {first.json()['transfer_id']})" in r.json()["detail"]
    r = await client.post(f"{HOLDS}/{created['id']}/void")
    assert r.status_code == 409 and r.json()["code"] == "hold_not_active"
    assert await balances(client, payer) == ("7.00", "7.00")


@pytest.mark.parametrize("body", [None, {}], ids=["no body", "empty object"])
async def test_voiding_a_hold_makes_its_money_available_and_moves_nothing(
    client: httpx.AsyncClient, ledger: Ledger, body: dict[str, Any] | None
) -> None:
    payer = await make_wallet(client, "10")
    created = await hold(client, payer, "9")
    headers = {"Idempotency-Key": f"v-{uuid4()}"}
    r = await client.post(f"{HOLDS}/{created['id']}/void", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["available_balance"], r.json()["captured_amount"]) == ("voided", "10.00", None)
    again = await client.post(f"{HOLDS}/{created['id']}/void", headers=headers)
    assert again.status_code == 200 and again.json()["replayed"] is True
    for action in ("void", "capture"):
        r = await client.post(f"{HOLDS}/{created['id']}/{action}")
        assert r.status_code == 409 and r.json()["code"] == "hold_not_active"
        assert "is voided" in r.json()["detail"]
    assert await balances(client, payer) == ("10.00", "10.00")
    assert len(await ledger.entries(payer)) == 1


async def test_a_void_with_a_body_is_refused(client: httpx.AsyncClient) -> None:
    created = await hold(client, await make_wallet(client, "1"), "1")
    r = await client.post(f"{HOLDS}/{created['id']}/void", json={"amount": "1"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert (await client.get(f"{HOLDS}/{created['id']}")).json()["status"] == "active"


@pytest.mark.parametrize("action", ["GET", "capture", "void"])
async def test_an_unknown_hold_is_404_and_a_malformed_id_422(client: httpx.AsyncClient, action: str) -> None:
    for hold_id, status, code in ((uuid4(), 404, "hold_not_found"), ("nope", 422, "validation_error")):
        if action == "GET":
            r = await client.get(f"{HOLDS}/{hold_id}")
        else:
            r = await client.post(f"{HOLDS}/{hold_id}/{action}")
        assert (r.status_code, r.json()["code"]) == (status, code), r.text


async def test_an_expired_hold_cannot_be_captured_and_gives_its_money_back(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    payer = await make_wallet(client, "10")
    created = await hold(client, payer, "6", expires_in_seconds=1)
    await asyncio.sleep(1.1)
    r = await client.post(f"{HOLDS}/{created['id']}/capture")
    assert r.status_code == 409 and r.json()["code"] == "hold_not_active"
    assert "is expired (it expired at" in r.json()["detail"]
    # The refused capture's transaction is rolled back, the expiry it saw with it: readers still see
    # the hold as expired (from its expires_at) and its money available; the sweep records it.
    got = (await client.get(f"{HOLDS}/{created['id']}")).json()
    assert (got["status"], got["available_balance"]) == ("expired", "10.00")
    assert await balances(client, payer) == ("10.00", "10.00")
    r = await client.post(f"/api/v1/wallets/{payer}/operation", json={"operation_type": "WITHDRAW", "amount": "10"})
    assert r.status_code == 200, r.text  # locking the wallet records the expiry
    got = (await client.get(f"{HOLDS}/{created['id']}")).json()
    assert got["status"] == "expired" and got["closed_at"] >= got["expires_at"]
    assert not await ledger.inconsistencies(payer)


async def test_the_sweep_expires_holds_without_any_request(settings: Settings, ledger: Ledger) -> None:
    quick = settings.model_copy(update={"hold_sweep_seconds": 0.2})
    async with api_client(quick) as (client, _):
        payer = await make_wallet(client, "10")
        created = await hold(client, payer, "6", expires_in_seconds=1)
        deadline = asyncio.get_running_loop().time() + 10
        while (
            status := await ledger.pool.fetchval("SELECT status FROM wallet.holds WHERE id = $1", UUID(created["id"]))
        ) == "active":
            assert asyncio.get_running_loop().time() < deadline, "the sweep did not expire the hold"
            await asyncio.sleep(0.1)
        assert status == "expired"
        row = await ledger.pool.fetchrow("SELECT held, balance FROM wallet.wallets WHERE id = $1", payer)
        assert (row["held"], row["balance"]) == (Decimal("0"), Decimal("10"))
        got = (await client.get(f"{HOLDS}/{created['id']}")).json()
        assert got["closed_at"] >= got["expires_at"]  # the record of when it expired
        assert not await ledger.inconsistencies(payer)


def _metric(text: str, name: str) -> float:
    """A sample's value; 0 before its first observation (a counter with labels appears then)."""
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_holds_on_a_busy_wallet_share_calls_and_each_gets_its_own_answer(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    wallet_id = await make_wallet(client, "100")
    calls = 'wallet_db_call_duration_seconds_count{call="create_holds"}'
    before = _metric((await client.get("/metrics")).text, calls)
    # A busy wallet: the first call waits on its row lock while the rest queue up behind it.
    con = await ledger.pool.acquire()
    tx = con.transaction()
    await tx.start()
    await con.execute("SELECT 1 FROM wallet.wallets WHERE id = $1 FOR UPDATE", wallet_id)
    key = {"Idempotency-Key": f"b-{uuid4()}"}

    def arrived(text: str) -> float:  # the process's metrics: counted from their values now
        return _metric(text, "wallet_batch_queued_operations") + _metric(text, "wallet_batch_operations_sum")

    base = arrived((await client.get("/metrics")).text)
    try:
        pending = [
            asyncio.ensure_future(client.post(f"/api/v1/wallets/{wallet_id}/holds", json={"amount": "3"}))
            for _ in range(40)
        ] + [
            asyncio.ensure_future(client.post(f"/api/v1/wallets/{wallet_id}/holds", json={"amount": "1"}, headers=key))
            for _ in range(2)
        ]
        # Release the wallet once every hold has reached the batcher (queued, or taken into the first call).
        deadline = asyncio.get_running_loop().time() + 15
        while (got := arrived((await client.get("/metrics")).text) - base) < 42:
            assert asyncio.get_running_loop().time() < deadline, f"only {got:.0f} of the 42 holds arrived"
            await asyncio.sleep(0.05)
    finally:
        await tx.rollback()
        await ledger.pool.release(con)
    answers = await asyncio.gather(*pending)
    made = [r for r in answers[:40] if r.status_code == 201]
    refused = [r for r in answers[:40] if r.status_code == 400]
    assert (len(made), len(refused)) == (33, 7), [r.status_code for r in answers]  # 33 x 3 + 1 = 100
    assert {r.json()["code"] for r in refused} == {"insufficient_funds"}
    assert [r.status_code for r in answers[40:]] == [201, 201]
    assert answers[40].json()["id"] == answers[41].json()["id"]  # one hold for the key, replayed
    assert len({r.json()["id"] for r in made}) == 33
    assert await balances(client, wallet_id) == ("100.00", "0.00")
    used = _metric((await client.get("/metrics")).text, calls) - before
    assert 2 <= used <= 10, used  # 42 holds in a few calls, not 42
    assert not await ledger.inconsistencies(wallet_id)
