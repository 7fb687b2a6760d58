"""Reads wallets over the HTTP API, synchronously (Locust's check runs in gevent): GET /api/v1/wallets/{id} for
the stored state, and GET .../operations, page by page from a seq on, for the entries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from ledgercheck.core import Entry, Snapshot

API = "/api/v1/wallets"
PAGE = 1000  # the largest page GET .../operations serves


class Response(Protocol):
    status_code: int

    def json(self) -> Any: ...


class Session(Protocol):
    """requests.Session and httpx.Client both fit."""

    def get(self, url: str, *, params: dict[str, int] | None = ..., timeout: float = ...) -> Response: ...


class LoadError(Exception):
    """The API did not answer a read as it should."""


def read_wallet(http: Session, base: str, wallet: str, after: int) -> tuple[Snapshot, list[Entry]]:
    """The wallet's stored state, then its entries with seq > `after`, oldest first. Read while nothing moves
    money on the wallet (at the end of a run), the two belong together."""
    r = http.get(f"{base}{API}/{wallet}", timeout=30)
    if r.status_code != 200:
        raise LoadError(f"{wallet}: GET answered HTTP {r.status_code}")
    state = r.json()
    closing = Snapshot(Decimal(state["balance"]), int(state["version"]))
    entries: list[Entry] = []
    cursor: int | None = after
    while cursor is not None:
        r = http.get(f"{base}{API}/{wallet}/operations", params={"after": cursor, "limit": PAGE}, timeout=30)
        if r.status_code != 200:
            raise LoadError(f"{wallet}: GET operations answered HTTP {r.status_code}")
        page = r.json()
        entries.extend(entry(wallet, item) for item in page["items"])
        cursor = page["next_after"]
    return closing, entries


def entry(wallet: str, item: dict[str, Any]) -> Entry:
    """An item of GET .../operations."""
    return Entry(
        wallet_id=wallet,
        seq=int(item["seq"]),
        transfer_id=str(item["transfer_id"]),
        amount=Decimal(item["amount"]),
        balance_after=Decimal(item["balance_after"]),
        counterparty=item.get("counterparty_wallet_id"),
        kind=str(item.get("operation_type", "")),
    )
