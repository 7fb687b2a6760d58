"""A wallet's balance at a moment (GET /api/v1/wallets/{id}/balance?at=...): from its ledger, at any
moment of its life; timestamps only as RFC 3339 with an offset; every other input a clear 4xx."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest


async def wallet_with_history(client: httpx.AsyncClient) -> tuple[UUID, list[dict[str, object]]]:
    r = await client.post("/api/v1/wallets", json={"initial_balance": "10"})
    wallet_id = UUID(r.json()["id"])
    for body in ({"operation_type": "DEPOSIT", "amount": "5"}, {"operation_type": "WITHDRAW", "amount": "3"}):
        assert (await client.post(f"/api/v1/wallets/{wallet_id}/operation", json=body)).status_code == 200
    entries = (await client.get(f"/api/v1/wallets/{wallet_id}/operations")).json()["items"]
    return wallet_id, entries


def moment(entry: dict[str, object], shift: timedelta = timedelta(0)) -> str:
    at = datetime.fromisoformat(str(entry["created_at"])) + shift
    return at.isoformat()


async def test_the_balance_now_and_at_each_moment_of_the_ledger(client: httpx.AsyncClient) -> None:
    wallet_id, entries = await wallet_with_history(client)
    await client.post(f"/api/v1/wallets/{wallet_id}/holds", json={"amount": "2"})
    now = (await client.get(f"/api/v1/wallets/{wallet_id}/balance")).json()
    assert (now["wallet_id"], now["currency"], now["balance"], now["available_balance"], now["seq"]) == (
        str(wallet_id),
        "USD",
        "12.00",
        "10.00",
        3,
    )
    for entry in entries:  # at the moment of each entry: that entry
        r = await client.get(f"/api/v1/wallets/{wallet_id}/balance", params={"at": moment(entry)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["seq"], body["balance"], body["available_balance"]) == (entry["seq"], entry["balance_after"], None)
        assert datetime.fromisoformat(body["at"]) == datetime.fromisoformat(str(entry["created_at"]))
    r = await client.get(
        f"/api/v1/wallets/{wallet_id}/balance", params={"at": moment(entries[2], timedelta(microseconds=-1))}
    )
    assert (r.json()["seq"], r.json()["balance"]) == (2, "15.00")  # just before the withdrawal


async def test_before_the_wallet_existed_is_404_and_the_future_422(client: httpx.AsyncClient) -> None:
    wallet_id, entries = await wallet_with_history(client)
    r = await client.get(
        f"/api/v1/wallets/{wallet_id}/balance", params={"at": moment(entries[0], timedelta(seconds=-1))}
    )
    assert r.status_code == 404 and r.json()["code"] == "wallet_not_found" and "did not exist" in r.json()["detail"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await client.get(f"/api/v1/wallets/{wallet_id}/balance", params={"at": future})
    assert r.status_code == 422 and r.json()["code"] == "invalid_argument" and "future" in r.json()["detail"]
    r = await client.get(f"/api/v1/wallets/{uuid4()}/balance")
    assert r.status_code == 404 and r.json()["code"] == "wallet_not_found"
    r = await client.get("/api/v1/wallets/nope/balance")
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "at",
    [
        "2026-12-02",
        "2026-12-02T08:00:00",
        "1764662400",
        "yesterday",
        "2026-13-02T00:00:00Z",
        "2026-12-02T08:00:00+2",
        "",
        "2026-12-02T25:00:00Z",
    ],
)
async def test_a_moment_that_is_not_rfc_3339_with_an_offset_is_422(client: httpx.AsyncClient, at: str) -> None:
    wallet_id, _ = await wallet_with_history(client)
    r = await client.get(f"/api/v1/wallets/{wallet_id}/balance", params={"at": at})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error"), r.text
    assert r.json()["errors"][0]["loc"] == ["query", "at"]


@pytest.mark.parametrize("form", ["{}Z", "{}z", "{}+00:00", "{}.123456789Z"])
async def test_every_rfc_3339_form_is_read(client: httpx.AsyncClient, form: str) -> None:
    wallet_id, entries = await wallet_with_history(client)
    # The next whole second after the last entry: written without fractions, and past by the time it is asked.
    last = datetime.fromisoformat(str(entries[-1]["created_at"])).astimezone(UTC) + timedelta(seconds=1)
    await asyncio.sleep(1.05)
    at = form.format(last.strftime("%Y-%m-%dT%H:%M:%S"))
    r = await client.get(f"/api/v1/wallets/{wallet_id}/balance", params={"at": at})
    assert r.status_code == 200, r.text
    assert (r.json()["seq"], r.json()["balance"]) == (3, "12.00")
