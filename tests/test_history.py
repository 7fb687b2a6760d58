"""The ledger as a searchable history: filters (kinds, a time window, a transfer), both orders with one
cursor, and the same list as streamed CSV that parses back to the JSON list."""

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest


async def busy_wallet(client: httpx.AsyncClient) -> tuple[UUID, UUID]:
    """A wallet with 12 entries of every kind (and a second wallet it pays)."""
    a = UUID((await client.post("/api/v1/wallets", json={"initial_balance": "100"})).json()["id"])
    b = UUID((await client.post("/api/v1/wallets", json={})).json()["id"])
    for n in range(1, 12):
        if n % 3 == 0:
            body = {"from_wallet_id": str(a), "to_wallet_id": str(b), "amount": f"{n}.00", "metadata": {"n": n}}
            assert (await client.post("/api/v1/transfers", json=body)).status_code == 201
        else:
            kind = "WITHDRAW" if n % 3 == 1 else "DEPOSIT"
            r = await client.post(
                f"/api/v1/wallets/{a}/operation", json={"operation_type": kind, "amount": "1.50", "metadata": {"n": n}}
            )
            assert r.status_code == 200, r.text
    return a, b


async def pages(client: httpx.AsyncClient, wallet_id: UUID, **params: Any) -> list[dict[str, Any]]:
    """Every entry, following next_after."""
    items: list[dict[str, Any]] = []
    after = None
    while True:
        query = {**params, **({"after": after} if after is not None else {})}
        r = await client.get(f"/api/v1/wallets/{wallet_id}/operations", params=query)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        after = r.json()["next_after"]
        if after is None:
            return items


async def test_both_orders_page_through_the_same_entries(client: httpx.AsyncClient) -> None:
    a, _ = await busy_wallet(client)
    oldest_first = await pages(client, a, limit=5)
    newest_first = await pages(client, a, limit=5, order="desc")
    assert [e["seq"] for e in oldest_first] == list(range(1, 13))
    assert newest_first == list(reversed(oldest_first))


async def test_filters_combine_and_keep_the_cursor(client: httpx.AsyncClient) -> None:
    a, b = await busy_wallet(client)
    everything = await pages(client, a)
    deposits = await pages(client, a, limit=2, type="DEPOSIT")
    assert deposits == [e for e in everything if e["operation_type"] == "DEPOSIT"]
    two_kinds = await pages(client, a, limit=3, type=["WITHDRAW", "TRANSFER_OUT"], order="desc")
    assert two_kinds == [e for e in reversed(everything) if e["operation_type"] in ("WITHDRAW", "TRANSFER_OUT")]
    since, until = everything[3]["created_at"], everything[8]["created_at"]
    window = await pages(client, a, limit=2, since=since, until=until)
    assert [e["seq"] for e in window] == [4, 5, 6, 7, 8, 9]
    transfer = everything[3]["transfer_id"]  # seq 4: the first transfer to b
    assert [e["seq"] for e in await pages(client, a, transfer_id=transfer)] == [4]
    assert [e["operation_type"] for e in await pages(client, b, transfer_id=transfer)] == ["TRANSFER_IN"]
    assert await pages(client, a, transfer_id=str(uuid4())) == []


@pytest.mark.parametrize(
    "params",
    [
        {"type": "REFUND"},
        {"order": "newest"},
        {"since": "2026-12-02"},
        {"until": "1764662400"},
        {"transfer_id": "nope"},
        {"after": "-1"},
        {"after": "1.5"},
    ],
)
async def test_a_bad_filter_is_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    a, _ = await busy_wallet(client)
    r = await client.get(f"/api/v1/wallets/{a}/operations", params=params)
    assert (r.status_code, r.json()["code"]) == (422, "validation_error"), r.text


async def test_the_csv_export_is_the_json_list(client: httpx.AsyncClient) -> None:
    a, _ = await busy_wallet(client)
    for params in ({}, {"order": "desc", "type": ["DEPOSIT", "TRANSFER_OUT"]}):
        listed = await pages(client, a, **params)
        r = await client.get(f"/api/v1/wallets/{a}/operations", params=params, headers={"Accept": "text/csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "\r\n" in r.text  # RFC 4180 line ends
        rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
        assert len(rows) == len(listed) > 0
        for row, entry in zip(rows, listed, strict=True):
            assert row["id"] == entry["id"] and int(row["seq"]) == entry["seq"]
            assert (row["operation_type"], row["amount"], row["balance_after"]) == (
                entry["operation_type"],
                entry["amount"],
                entry["balance_after"],
            )
            assert datetime.fromisoformat(row["created_at"]) == datetime.fromisoformat(entry["created_at"])
            assert row["transfer_id"] == entry["transfer_id"]
            assert (row["counterparty_wallet_id"] or None) == entry["counterparty_wallet_id"]
            # quoted (it holds commas and quotes); empty for none
            assert (json.loads(row["metadata"]) if row["metadata"] else None) == entry["metadata"]


async def test_a_csv_export_of_more_than_a_page_streams_every_entry(client: httpx.AsyncClient) -> None:
    a = UUID((await client.post("/api/v1/wallets", json={})).json()["id"])
    body = {"transfers": [{"to_wallet_id": str(a), "amount": "0.01"} for _ in range(1000)]}
    for _ in range(2):
        assert (await client.post("/api/v1/transfers/bulk", json=body)).status_code == 200
    r = await client.get(f"/api/v1/wallets/{a}/operations", headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    assert [int(x["seq"]) for x in rows] == list(range(1, 2001))  # two database pages, in order
    assert rows[-1]["balance_after"] == "20.00"


async def test_csv_of_an_unknown_wallet_is_a_404_problem(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/api/v1/wallets/{uuid4()}/operations", headers={"Accept": "text/csv"})
    assert r.status_code == 404 and r.json()["code"] == "wallet_not_found"


async def test_a_window_in_the_future_or_before_everything_is_empty(client: httpx.AsyncClient) -> None:
    a, _ = await busy_wallet(client)
    first = (await pages(client, a))[0]
    before = (datetime.fromisoformat(first["created_at"]) - timedelta(days=1)).isoformat()
    assert await pages(client, a, until=before) == []
