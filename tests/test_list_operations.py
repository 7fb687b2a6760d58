"""Listing a wallet's ledger page by page."""

from uuid import uuid4

import httpx


async def test_pages_walk_the_ledger_in_seq_order(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet("1")
    for i in range(6):
        await client.post(
            f"/api/v1/wallets/{wallet_id}/operation",
            json={"operation_type": "DEPOSIT", "amount": f"{i + 1}.00"},
        )
    seen = []
    after = 0
    pages = 0
    while True:
        r = await client.get(f"/api/v1/wallets/{wallet_id}/operations", params={"limit": 3, "after": after})
        assert r.status_code == 200
        page = r.json()
        seen += page["items"]
        pages += 1
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert [op["seq"] for op in seen] == [1, 2, 3, 4, 5, 6, 7]
    assert [op["amount"] for op in seen] == ["1.00", "1.00", "2.00", "3.00", "4.00", "5.00", "6.00"]
    assert seen[-1]["balance_after"] == "22.00"
    assert pages == 3


async def test_list_of_unknown_wallet_returns_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/api/v1/wallets/{uuid4()}/operations")
    assert r.status_code == 404
    assert r.json()["code"] == "wallet_not_found"


async def test_list_rejects_bad_paging_parameters(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"limit": "x"},
        {"after": -1},
        {"after": "x"},
        {"after": 2**64},
    ):
        r = await client.get(f"/api/v1/wallets/{wallet_id}/operations", params=params)
        assert r.status_code == 422, params


async def test_empty_wallet_has_an_empty_last_page(client: httpx.AsyncClient, new_wallet) -> None:  # type: ignore[no-untyped-def]
    wallet_id = await new_wallet()
    r = await client.get(f"/api/v1/wallets/{wallet_id}/operations")
    assert r.json() == {"items": [], "limit": 100, "next_after": None}
