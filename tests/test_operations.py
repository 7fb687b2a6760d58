"""Deposits and withdrawals: money handling, errors, idempotency."""

import asyncio
from decimal import Decimal
from uuid import UUID, uuid4

import httpx

from tests.conftest import Ledger

PROBLEM = "application/problem+json"


def op_url(wallet_id: UUID) -> str:
    return f"/api/v1/wallets/{wallet_id}/operation"


async def test_deposit_returns_the_operation_and_new_balance(
    client: httpx.AsyncClient, new_wallet, ledger: Ledger
) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("1.00")
    r = await client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "100.50"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["operation_type"] == "DEPOSIT"
    assert body["amount"] == "100.50"
    assert body["balance"] == body["balance_after"] == "101.50"
    assert body["wallet_id"] == str(wallet_id)
    assert body["seq"] == 2
    assert body["replayed"] is False
    entries = await ledger.entries(wallet_id)
    assert str(entries[-1]["id"]) == body["id"]
    assert await ledger.balance(wallet_id) == Decimal("101.50")


async def test_seed_client_camel_case_body_with_json_number_works(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    r = await client.post(
        op_url(wallet_id), json={"walletId": str(wallet_id), "operationType": "DEPOSIT", "amount": 1000}
    )
    assert r.status_code == 200, r.text
    assert r.json()["balance"] == "1000.00"


async def test_withdraw_reduces_the_balance(client: httpx.AsyncClient, new_wallet, ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("50")
    r = await client.post(op_url(wallet_id), json={"operationType": "WITHDRAW", "amount": "20.25"})
    assert r.status_code == 200
    assert r.json()["balance"] == "29.75"
    assert await ledger.balance(wallet_id) == Decimal("29.75")


async def test_ten_json_number_deposits_of_0_1_make_exactly_1_00(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    for _ in range(10):
        r = await client.post(
            op_url(wallet_id),
            content=b'{"operation_type": "DEPOSIT", "amount": 0.1}',
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 200
    r = await client.get(f"/api/v1/wallets/{wallet_id}")
    assert r.json()["balance"] == "1.00"


async def test_body_without_json_content_type_is_read_as_json(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    r = await client.post(
        op_url(wallet_id),
        content=b'{"operationType": "DEPOSIT", "amount": "2.00"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text


async def test_withdraw_beyond_balance_returns_400_with_balance_and_changes_nothing(
    client: httpx.AsyncClient,
    new_wallet,
    ledger: Ledger,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("10.00")
    r = await client.post(op_url(wallet_id), json={"operation_type": "WITHDRAW", "amount": "10.01"})
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["code"] == "insufficient_funds"
    assert body["balance"] == "10.00"
    assert body["title"] == "insufficient funds"
    assert await ledger.balance(wallet_id) == Decimal("10.00")
    assert len(await ledger.entries(wallet_id)) == 1


async def test_deposit_beyond_the_balance_limit_returns_400(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("999999999999999999.00")
    r = await client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "1.00"})
    assert r.status_code == 400
    assert r.json()["code"] == "balance_limit_exceeded"


async def test_operation_on_unknown_wallet_returns_404(client: httpx.AsyncClient) -> None:
    r = await client.post(op_url(uuid4()), json={"operation_type": "DEPOSIT", "amount": "1"})
    assert r.status_code == 404
    assert r.json()["code"] == "wallet_not_found"


async def test_wallet_id_in_body_must_match_the_path(client: httpx.AsyncClient, new_wallet, ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("5")
    r = await client.post(
        op_url(wallet_id), json={"walletId": str(uuid4()), "operationType": "WITHDRAW", "amount": "1"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "walletId"]
    assert await ledger.balance(wallet_id) == Decimal("5.00")


async def test_repeated_idempotency_key_replays_the_original_response(
    client: httpx.AsyncClient,
    new_wallet,
    ledger: Ledger,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet()
    headers = {"Idempotency-Key": f"op-{uuid4()}"}
    body = {"operation_type": "DEPOSIT", "amount": "3.00"}
    first = await client.post(op_url(wallet_id), json=body, headers=headers)
    second = await client.post(op_url(wallet_id), json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["balance"] == first.json()["balance"] == "3.00"
    assert second.json()["replayed"] is True
    assert second.headers["idempotent-replayed"] == "true"
    assert len(await ledger.entries(wallet_id)) == 1
    assert await ledger.balance(wallet_id) == Decimal("3.00")


async def test_reused_key_with_another_request_returns_422_and_changes_nothing(
    client: httpx.AsyncClient,
    new_wallet,
    ledger: Ledger,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet("10")
    headers = {"Idempotency-Key": f"op-{uuid4()}"}
    await client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "3.00"}, headers=headers)
    r = await client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "4.00"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert await ledger.balance(wallet_id) == Decimal("13.00")


async def test_refused_withdrawal_is_final_for_its_key(client: httpx.AsyncClient, new_wallet, ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    """A late attempt with the key (say, one stuck behind a fault) must never apply what was refused."""
    wallet_id = await new_wallet()
    headers = {"Idempotency-Key": f"op-{uuid4()}"}
    body = {"operation_type": "WITHDRAW", "amount": "5.00"}
    first = await client.post(op_url(wallet_id), json=body, headers=headers)
    assert first.status_code == 400
    await client.post(op_url(wallet_id), json={"operation_type": "DEPOSIT", "amount": "5.00"})
    again = await client.post(op_url(wallet_id), json=body, headers=headers)
    assert again.status_code == 400
    assert again.json()["code"] == "insufficient_funds"
    assert again.json()["balance"] == "0.00"  # the balance the refusal was decided on
    assert again.headers["idempotent-replayed"] == "true"
    assert await ledger.balance(wallet_id) == Decimal("5.00")
    fresh = await client.post(op_url(wallet_id), json=body, headers={"Idempotency-Key": f"op-{uuid4()}"})
    assert fresh.status_code == 200
    assert fresh.json()["balance"] == "0.00"


async def test_overlong_idempotency_key_returns_422(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    r = await client.post(
        op_url(wallet_id),
        json={"operation_type": "DEPOSIT", "amount": "1"},
        headers={"Idempotency-Key": "k" * 256},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_idempotency_key"


async def test_twenty_concurrent_replays_of_one_key_apply_once(
    client: httpx.AsyncClient,
    new_wallet,
    ledger: Ledger,  # type: ignore[no-untyped-def]
) -> None:
    wallet_id = await new_wallet()
    headers = {"Idempotency-Key": f"op-{uuid4()}"}
    body = {"operation_type": "DEPOSIT", "amount": "7.77"}
    responses = await asyncio.gather(*(client.post(op_url(wallet_id), json=body, headers=headers) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(not r.json()["replayed"] for r in responses) == 1
    assert len(await ledger.entries(wallet_id)) == 1
    assert await ledger.balance(wallet_id) == Decimal("7.77")
