"""Reversals through the real stack: all or part of a transfer, a capture, a deposit or a withdrawal
moves back as a transfer of its own, linked both ways; never more than the original, even when many
reversals race; every refusal changes nothing."""

import asyncio
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from tests.conftest import Ledger, make_wallet

TRANSFERS = "/api/v1/transfers"


async def pay(client: httpx.AsyncClient, source: UUID, destination: UUID, amount: str) -> str:
    r = await client.post(
        TRANSFERS, json={"from_wallet_id": str(source), "to_wallet_id": str(destination), "amount": amount}
    )
    assert r.status_code == 201, r.text
    transfer_id: str = r.json()["id"]
    return transfer_id


async def operation(client: httpx.AsyncClient, wallet_id: UUID, kind: str, amount: str) -> str:
    r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", json={"operation_type": kind, "amount": amount})
    assert r.status_code == 200, r.text
    transfer_id: str = r.json()["transfer_id"]
    return transfer_id


async def reverse(client: httpx.AsyncClient, transfer_id: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    return await client.post(f"{TRANSFERS}/{transfer_id}/reversal", json=body, **kwargs)


async def balance(client: httpx.AsyncClient, wallet_id: UUID) -> str:
    value: str = (await client.get(f"/api/v1/wallets/{wallet_id}")).json()["balance"]
    return value


async def test_a_full_reversal_moves_a_transfer_back_and_links_both_ways(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    payer, merchant = await make_wallet(client, "100"), await make_wallet(client, "0")
    original = await pay(client, payer, merchant, "40")
    r = await reverse(client, original, {"metadata": {"reason": "refund"}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"{TRANSFERS}/{body['id']}"
    assert (body["kind"], body["from_wallet_id"], body["to_wallet_id"], body["amount"]) == (
        "TRANSFER",
        str(merchant),
        str(payer),
        "40.00",
    )
    assert (body["reverses"], body["original_reversed_amount"], body["balance"], body["replayed"]) == (
        original,
        "40.00",
        "0.00",  # the merchant's, who paid back
        False,
    )
    assert body["metadata"] == {"reason": "refund"}
    assert (await balance(client, payer), await balance(client, merchant)) == ("100.00", "0.00")
    got = (await client.get(f"{TRANSFERS}/{original}")).json()
    assert (got["reverses"], got["reversed_amount"]) == (None, "40.00")
    got = (await client.get(f"{TRANSFERS}/{body['id']}")).json()
    assert (got["reverses"], got["reversed_amount"]) == (original, "0.00")
    entry = (await client.get(f"/api/v1/wallets/{payer}/operations")).json()["items"][-1]
    assert (entry["operation_type"], entry["transfer_id"]) == ("TRANSFER_IN", body["id"])
    assert not await ledger.inconsistencies(payer) and not await ledger.inconsistencies(merchant)


async def test_partial_reversals_never_exceed_the_original(client: httpx.AsyncClient) -> None:
    payer, merchant = await make_wallet(client, "100"), await make_wallet(client, "0")
    original = await pay(client, payer, merchant, "30")
    first = await reverse(client, original, {"amount": "10"})
    assert first.status_code == 201 and first.json()["original_reversed_amount"] == "10.00"
    too_much = await reverse(client, original, {"amount": "20.01"})
    assert too_much.status_code == 422 and too_much.json()["code"] == "reversal_exceeds_original"
    assert "already reversed 10.00" in too_much.json()["detail"] and "20.00 remains" in too_much.json()["detail"]
    rest = await reverse(client, original)  # default: all that is not yet reversed
    assert rest.status_code == 201 and rest.json()["amount"] == "20.00"
    assert rest.json()["original_reversed_amount"] == "30.00"
    again = await reverse(client, original)
    assert again.status_code == 422 and again.json()["code"] == "reversal_exceeds_original"
    assert (await balance(client, payer), await balance(client, merchant)) == ("100.00", "0.00")
    assert (await client.get(f"{TRANSFERS}/{original}")).json()["reversed_amount"] == "30.00"


async def test_a_deposit_reversal_takes_the_money_back_out_and_a_withdrawal_reversal_returns_it(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    wallet_id = await make_wallet(client, "0")
    deposit = await operation(client, wallet_id, "DEPOSIT", "25")
    withdrawal = await operation(client, wallet_id, "WITHDRAW", "5")
    r = await reverse(client, withdrawal)
    assert r.status_code == 201 and (r.json()["kind"], r.json()["to_wallet_id"]) == ("DEPOSIT", str(wallet_id))
    assert await balance(client, wallet_id) == "25.00"
    r = await reverse(client, deposit, {"amount": "7"})
    assert r.status_code == 201 and (r.json()["kind"], r.json()["from_wallet_id"]) == ("WITHDRAW", str(wallet_id))
    assert r.json()["balance"] == "18.00"
    assert not await ledger.inconsistencies(wallet_id)


async def test_a_capture_can_be_reversed(client: httpx.AsyncClient) -> None:
    payer, merchant = await make_wallet(client, "50"), await make_wallet(client, "0")
    created = (await client.post(f"/api/v1/wallets/{payer}/holds", json={"amount": "20"})).json()
    captured = (
        await client.post(f"/api/v1/holds/{created['id']}/capture", json={"to_wallet_id": str(merchant)})
    ).json()
    r = await reverse(client, captured["transfer_id"], {"amount": "15"})
    assert r.status_code == 201, r.text
    assert (await balance(client, payer), await balance(client, merchant)) == ("45.00", "5.00")
    assert (await client.get(f"/api/v1/holds/{created['id']}")).json()["status"] == "captured"


async def test_the_side_that_pays_back_needs_the_available_money(client: httpx.AsyncClient) -> None:
    payer, merchant = await make_wallet(client, "100"), await make_wallet(client, "0")
    original = await pay(client, payer, merchant, "40")
    await operation(client, merchant, "WITHDRAW", "30")
    r = await reverse(client, original)
    assert r.status_code == 400 and r.json()["code"] == "insufficient_funds", r.text
    await client.post(f"/api/v1/wallets/{merchant}/holds", json={"amount": "10"})  # all it has left, held
    r = await reverse(client, original, {"amount": "1"})
    assert r.status_code == 400 and r.json()["code"] == "insufficient_funds", r.text
    assert "is held" in r.json()["detail"] or "available" in r.json()["detail"]
    assert (await balance(client, payer), await balance(client, merchant)) == ("60.00", "10.00")
    assert (await client.get(f"{TRANSFERS}/{original}")).json()["reversed_amount"] == "0.00"


async def test_a_replayed_reversal_returns_the_original_and_another_request_with_its_key_is_refused(
    client: httpx.AsyncClient,
) -> None:
    payer, merchant = await make_wallet(client, "100"), await make_wallet(client, "0")
    original = await pay(client, payer, merchant, "40")
    other = await pay(client, payer, merchant, "1")
    headers = {"Idempotency-Key": f"r-{uuid4()}"}
    first = await reverse(client, original, {"amount": "40"}, headers=headers)
    assert first.status_code == 201, first.text
    again = await reverse(client, original, {"amount": "40"}, headers=headers)  # fully reversed by now
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    for transfer_id, body in ((original, {"amount": "39"}), (other, {"amount": "1"})):
        r = await reverse(client, transfer_id, body, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused", r.text
    assert (await balance(client, payer), await balance(client, merchant)) == ("99.00", "1.00")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": "0"}, 422, "invalid_amount"),
        ({"amount": "1.001"}, 422, "invalid_amount"),
        ({"amount": "10.01"}, 422, "reversal_exceeds_original"),
        ({"amount": "1", "to_wallet_id": str(uuid4())}, 422, "validation_error"),
        ({"metadata": "x"}, 422, "invalid_metadata"),
        ([1], 422, "validation_error"),
    ],
)
async def test_a_refused_reversal_changes_nothing(client: httpx.AsyncClient, body: Any, status: int, code: str) -> None:
    payer, merchant = await make_wallet(client, "10"), await make_wallet(client, "0")
    original = await pay(client, payer, merchant, "10")
    r = await reverse(client, original, body)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert (await balance(client, payer), await balance(client, merchant)) == ("0.00", "10.00")


async def test_reversing_an_unknown_transfer_is_404(client: httpx.AsyncClient) -> None:
    r = await reverse(client, str(uuid4()))
    assert r.status_code == 404 and r.json()["code"] == "transfer_not_found"
    r = await reverse(client, "nope")
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


async def test_concurrent_reversals_of_one_transfer_never_sum_to_more_than_it(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    payer, merchant = await make_wallet(client, "100"), await make_wallet(client, "0")
    original = await pay(client, payer, merchant, "50")
    answers = await asyncio.gather(*(reverse(client, original, {"amount": "3"}) for _ in range(30)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 16 and statuses.count(422) == 14, statuses  # 16 x 3 = 48 <= 50 < 51
    assert {r.json()["code"] for r in answers if r.status_code == 422} == {"reversal_exceeds_original"}
    assert (await balance(client, payer), await balance(client, merchant)) == ("98.00", "2.00")
    reversed_total = sum(Decimal(r.json()["amount"]) for r in answers if r.status_code == 201)
    assert reversed_total == Decimal("48.00")
    assert (await client.get(f"{TRANSFERS}/{original}")).json()["reversed_amount"] == "48.00"
    assert not await ledger.inconsistencies(payer) and not await ledger.inconsistencies(merchant)
