"""Bulk posting through the real stack: up to 1,000 transfers, deposits and withdrawals in one request
and one database call; one result per element in order; all or nothing with `atomic`; replays by each
element's key; malformed or oversized bodies refused with nothing written."""

import re
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from tests.conftest import Ledger, make_wallet

BULK = "/api/v1/transfers/bulk"


def element(source: UUID | None, destination: UUID | None, amount: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"amount": amount, **extra}
    if source:
        body["from_wallet_id"] = str(source)
    if destination:
        body["to_wallet_id"] = str(destination)
    return body


def calls(metrics: str, name: str) -> float:
    match = re.search(rf'^wallet_db_call_duration_seconds_count{{call="{name}"}} ([0-9.e+]+)$', metrics, re.M)
    return float(match.group(1)) if match else 0.0


async def test_a_bulk_request_applies_each_element_and_answers_each_in_order(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    a, b, euro = await make_wallet(client, "10"), await make_wallet(client), await make_wallet(client, "5", "EUR")
    before = (await client.get("/metrics")).text
    r = await client.post(
        BULK,
        json={
            "transfers": [
                element(None, a, "5", metadata={"n": 1}),  # a deposit
                element(a, b, "12"),  # a transfer, seeing the deposit before it
                element(a, None, "4"),  # a withdrawal: 3 left, so refused
                element(a, uuid4(), "1"),  # an unknown destination
                element(a, euro, "1"),  # another currency
                element(b, None, "2.5", idempotency_key="bulk-w-1"),
            ]
        },
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 201, 400, 404, 422, 201]
    assert (results[0]["kind"], results[0]["balance"], results[0]["metadata"]) == ("DEPOSIT", "15.00", {"n": 1})
    assert (results[1]["kind"], results[1]["balance"], results[1]["to_wallet_id"]) == ("TRANSFER", "3.00", str(b))
    assert (results[2]["code"], results[2]["balance"]) == ("insufficient_funds", "3.00")
    assert "needs 1.00 more" in results[2]["detail"]
    assert results[3]["code"] == "wallet_not_found" and "(the destination)" in results[3]["detail"]
    assert results[4]["code"] == "currency_mismatch"
    assert (results[5]["kind"], results[5]["balance"], results[5]["replayed"]) == ("WITHDRAW", "9.50", False)
    assert await ledger.balance(a) == Decimal("3.00") and await ledger.balance(b) == Decimal("9.50")
    assert await ledger.balance(euro) == Decimal("5.00")
    for x in results:
        if x["status"] == 201:
            got = (await client.get(f"/api/v1/transfers/{x['id']}")).json()
            assert (got["kind"], got["amount"]) == (x["kind"], x["amount"])
    after = (await client.get("/metrics")).text
    assert calls(after, "post_transfers") - calls(before, "post_transfers") == 1  # one database call
    assert not await ledger.inconsistencies(a) and not await ledger.inconsistencies(b)
    r = await client.post(BULK, json={"transfers": [element(None, a, "1.001")]})  # the currency's rule: per element
    assert r.status_code == 200 and (r.json()["results"][0]["status"], r.json()["results"][0]["code"]) == (
        422,
        "invalid_amount",
    )


async def test_a_bulk_request_replays_by_each_elements_key(client: httpx.AsyncClient, ledger: Ledger) -> None:
    a, b = await make_wallet(client, "100"), await make_wallet(client)
    body = {
        "transfers": [
            element(a, b, "10", idempotency_key=f"k1-{uuid4()}"),
            element(None, b, "1", idempotency_key=f"k2-{uuid4()}"),
        ]
    }
    first = (await client.post(BULK, json=body)).json()["results"]
    again = (await client.post(BULK, json=body)).json()["results"]
    assert [x["replayed"] for x in again] == [True, True]
    assert [x["id"] for x in again] == [x["id"] for x in first]
    assert len(await ledger.entries(a)) == 2 and len(await ledger.entries(b)) == 2  # opening entry, 1 transfer
    other = {"transfers": [{**body["transfers"][0], "amount": "11"}]}
    r = (await client.post(BULK, json=other)).json()["results"]
    assert (r[0]["status"], r[0]["code"]) == (422, "idempotency_key_reused")
    assert await ledger.balance(a) == Decimal("90.00")


async def test_an_atomic_bulk_request_applies_everything(client: httpx.AsyncClient, ledger: Ledger) -> None:
    a, b = await make_wallet(client, "10"), await make_wallet(client)
    r = await client.post(BULK, json={"transfers": [element(a, b, "10"), element(b, None, "10")], "atomic": True})
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == [201, 201]
    assert await ledger.balance(a) == 0 and await ledger.balance(b) == 0


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [("insufficient funds", 400, "insufficient_funds"), ("unknown wallet", 404, "wallet_not_found")],
)
async def test_an_atomic_bulk_request_with_one_refused_element_writes_nothing(
    client: httpx.AsyncClient, ledger: Ledger, case: str, status: int, code: str
) -> None:
    a, b = await make_wallet(client, "10"), await make_wallet(client)
    bad = (
        element(a, None, "100", idempotency_key=f"w-{uuid4()}")
        if case == "insufficient funds"
        else element(uuid4(), b, "1")
    )
    good = element(a, b, "1", idempotency_key=f"t-{uuid4()}")
    r = await client.post(BULK, json={"transfers": [good, element(None, a, "1"), bad], "atomic": True})
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.json()["detail"].startswith("transfer 3 of 3: ")
    assert len(await ledger.entries(a)) == 1 and len(await ledger.entries(b)) == 0  # the opening deposit only
    assert await ledger.balance(a) == Decimal("10.00")
    r = await client.post(BULK, json={"transfers": [good]})  # its key is still free
    assert r.json()["results"][0]["status"] == 201 and r.json()["results"][0]["replayed"] is False


async def test_a_thousand_elements_fit_and_a_thousand_and_one_do_not(client: httpx.AsyncClient, ledger: Ledger) -> None:
    a = await make_wallet(client)
    meta = {"batch": "payroll-2026-12", "note": "x" * 100}
    body = {"transfers": [element(None, a, "0.01", metadata=meta) for _ in range(1000)]}
    r = await client.post(BULK, json=body)
    assert r.status_code == 200, r.text
    assert len(r.json()["results"]) == 1000 and r.json()["results"][-1]["balance"] == "10.00"
    assert len(await ledger.entries(a)) == 1000
    r = await client.post(BULK, json={"transfers": body["transfers"] + [element(None, a, "0.01")]})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert await ledger.balance(a) == Decimal("10.00")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"transfers": []}, "validation_error"),
        ({}, "validation_error"),
        ({"transfers": [{"amount": "1"}]}, "validation_error"),  # names no wallet
        ({"transfers": [{"to_wallet_id": "WALLET", "amount": "-1"}]}, "invalid_amount"),
        (
            {"transfers": [{"to_wallet_id": "WALLET", "amount": "1", "idempotency_key": "has space"}]},
            "validation_error",
        ),
        ({"transfers": [{"to_wallet_id": "WALLET", "amount": "1", "extra": 1}]}, "validation_error"),
        ({"transfers": [{"to_wallet_id": "WALLET", "amount": "1"}], "atomic": "yes"}, "validation_error"),
        ({"transfers": [{"to_wallet_id": "WALLET", "amount": "1", "metadata": [1]}]}, "invalid_metadata"),
        ([{"to_wallet_id": "WALLET", "amount": "1"}], "validation_error"),
    ],
)
async def test_a_malformed_bulk_request_is_422_and_writes_nothing(
    client: httpx.AsyncClient, ledger: Ledger, body: Any, code: str
) -> None:
    a = await make_wallet(client)
    text = str(body).replace("'", '"').replace("WALLET", str(a)).replace("False", "false")
    r = await client.post(BULK, content=text, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (422, code), r.text
    assert await ledger.entries(a) == []


async def test_an_oversized_bulk_body_is_413(client: httpx.AsyncClient) -> None:
    r = await client.post(BULK, content=b'{"transfers": [' + b" " * 2_100_000 + b"]}")
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    # other paths keep their own, smaller limit
    r = await client.post("/api/v1/transfers", content=b'{"amount": "1"' + b" " * 20_000 + b"}")
    assert r.status_code == 413


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_other_methods_on_the_bulk_path_are_405(client: httpx.AsyncClient, method: str) -> None:
    r = await client.request(method, BULK)
    assert (r.status_code, r.json()["code"], r.headers["allow"]) == (405, "method_not_allowed", "POST")
