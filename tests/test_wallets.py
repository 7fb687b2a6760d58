"""Creating and reading wallets."""

from decimal import Decimal
from uuid import UUID, uuid4

import httpx

from tests.conftest import Ledger

PROBLEM = "application/problem+json"


async def test_create_wallet_returns_201_with_location_and_zero_balance(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/wallets")
    assert r.status_code == 201
    body = r.json()
    assert body["balance"] == "0.00"
    assert body["version"] == 0
    assert r.headers["location"] == f"/api/v1/wallets/{body['id']}"


async def test_create_wallet_with_trailing_slash_needs_no_redirect(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/wallets/", json={"initialBalance": "5"})
    assert r.status_code == 201
    assert r.json()["balance"] == "5.00"


async def test_initial_balance_is_the_first_ledger_entry(client: httpx.AsyncClient, ledger: Ledger) -> None:
    r = await client.post("/api/v1/wallets", json={"initial_balance": "10.50"})
    wallet_id = UUID(r.json()["id"])
    entries = await ledger.entries(wallet_id)
    assert [(e["seq"], e["operation_type"], e["amount"]) for e in entries] == [(1, "DEPOSIT", Decimal("10.50"))]


async def test_create_with_idempotency_key_replays_the_same_wallet(client: httpx.AsyncClient) -> None:
    key = f"create-{uuid4()}"
    first = await client.post("/api/v1/wallets", json={"initial_balance": "7"}, headers={"Idempotency-Key": key})
    again = await client.post("/api/v1/wallets", json={"initial_balance": "7"}, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


async def test_create_with_reused_key_and_other_balance_returns_422(client: httpx.AsyncClient) -> None:
    key = f"create-{uuid4()}"
    await client.post("/api/v1/wallets", json={"initial_balance": "7"}, headers={"Idempotency-Key": key})
    r = await client.post("/api/v1/wallets", json={"initial_balance": "8"}, headers={"Idempotency-Key": key})
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"


async def test_create_with_invalid_initial_balance_returns_422(client: httpx.AsyncClient) -> None:
    for bad in ["-1", "1.001", "abc", True, None, [], {}, "1e3", "1000000000000000000.00"]:
        r = await client.post("/api/v1/wallets", json={"initial_balance": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"] == PROBLEM


async def test_create_with_unknown_field_returns_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/wallets", json={"initial_balance": "1", "owner": "bob"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "owner"]


async def test_get_wallet_returns_its_balance(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("12.34")
    r = await client.get(f"/api/v1/wallets/{wallet_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == str(wallet_id)
    assert body["balance"] == "12.34"
    # 1.1.0 added currency and available_balance
    assert set(body) == {"id", "balance", "version", "created_at", "updated_at", "currency", "available_balance"}
    assert body["available_balance"] == "12.34"
    assert body["currency"] == "USD"


async def test_get_unknown_wallet_returns_404_problem(client: httpx.AsyncClient) -> None:
    wallet_id = uuid4()
    r = await client.get(f"/api/v1/wallets/{wallet_id}")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["code"] == "wallet_not_found"
    assert body["status"] == 404
    assert body["type"] == "/problems/wallet_not_found"
    assert body["instance"] == f"/api/v1/wallets/{wallet_id}"
    assert str(wallet_id) in body["detail"]


async def test_get_with_malformed_uuid_returns_422(client: httpx.AsyncClient) -> None:
    for bad in ["xyz", "123", "00000000-0000-0000-0000-00000000000g", "%20"]:
        r = await client.get(f"/api/v1/wallets/{bad}")
        assert r.status_code == 422, bad
        assert r.json()["code"] == "validation_error"
