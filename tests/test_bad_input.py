"""A battery of bad requests: each gets a clear 4xx problem and leaves the wallet untouched."""

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import Ledger

BAD_AMOUNTS: list[Any] = [
    "1.001",
    "0",
    "0.00",
    "-1",
    "-0.01",
    0,
    -5,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e2",
    "",
    " 1",
    "1,00",
    "abc",
    True,
    False,
    None,
    [],
    ["1"],
    {"value": "1"},
    "1000000000000000000",
    10**40,
    "0.001",
]

BAD_BODIES: list[bytes] = [
    b"",
    b"{",
    b"not json",
    b"[]",
    b'"DEPOSIT"',
    b"null",
    b'{"operation_type": "DEPOSIT", "amount": NaN}',
    b'{"operation_type": "DEPOSIT", "amount": Infinity}',
    b'{"operation_type": "DEPOSIT", "amount": -Infinity}',
    b'{"operation_type": "DEPOSIT", "amount": 1e400}',
    b'{"operation_type": "DEPOSIT"}',
    b'{"amount": "1.00"}',
    b'{"operation_type": "deposit", "amount": "1.00"}',
    b'{"operation_type": "TRANSFER", "amount": "1.00"}',
    b'{"operation_type": null, "amount": "1.00"}',
    b'{"operation_type": 1, "amount": "1.00"}',
    b'{"operation_type": "DEPOSIT", "amount": "1.00", "extra": 1}',
    b'{"operation_type": "DEPOSIT", "amount": "1.00", "walletId": "not-a-uuid"}',
    b"\xff\xfe{}",
    b"[" * 5000,
]


async def _assert_untouched(ledger: Ledger, wallet_id: Any) -> None:
    assert await ledger.balance(wallet_id) == Decimal("10.00")
    assert len(await ledger.entries(wallet_id)) == 1


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=[repr(a)[:30] for a in BAD_AMOUNTS])
async def test_bad_amount_returns_422_and_changes_nothing(
    client: httpx.AsyncClient,
    new_wallet,
    ledger: Ledger,
    amount: Any,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("10")
    for op in ("DEPOSIT", "WITHDRAW"):
        r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", json={"operation_type": op, "amount": amount})
        assert r.status_code == 422, (amount, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "invalid_amount"
        assert r.json()["errors"][0]["loc"][-1] == "amount"
    await _assert_untouched(ledger, wallet_id)


@pytest.mark.parametrize("body", BAD_BODIES, ids=[repr(b)[:40] for b in BAD_BODIES])
async def test_bad_body_returns_422_and_changes_nothing(
    client: httpx.AsyncClient,
    new_wallet,
    ledger: Ledger,
    body: bytes,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("10")
    r = await client.post(
        f"/api/v1/wallets/{wallet_id}/operation", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, (body, r.text)
    problem = r.json()
    assert problem["status"] == 422
    assert problem["detail"]
    await _assert_untouched(ledger, wallet_id)


@pytest.mark.parametrize("path", ["not-a-uuid", "1", "00000000-0000-0000-0000-0000000000zz"])
async def test_malformed_wallet_id_in_path_returns_422(client: httpx.AsyncClient, path: str) -> None:
    r = await client.post(f"/api/v1/wallets/{path}/operation", json={"operation_type": "DEPOSIT", "amount": "1"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["path", "wallet_id"]


async def test_unknown_route_and_method_get_problem_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.delete("/api/v1/wallets")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"


async def test_validation_problem_lists_field_errors(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", content=json.dumps({"amount": "x"}))
    locs = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert ("body", "operation_type") in locs
    assert ("body", "amount") in locs


async def test_oversized_body_returns_413_problem(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    body = b'{"operation_type": "DEPOSIT", "amount": "1", "pad": "' + b"x" * 20_000 + b'"}'
    r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", content=body)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "payload_too_large"


async def test_oversized_chunked_body_without_length_returns_413(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b" " * 4096

    r = await client.post(f"/api/v1/wallets/{wallet_id}/operation", content=chunks())
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("body", [b"0.01", b"1", b"true", b'"x"', b"[]"])
async def test_create_wallet_body_must_be_an_object(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post("/api/v1/wallets", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, body
