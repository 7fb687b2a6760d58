"""Reads the ledger straight from PostgreSQL with asyncpg, as the superuser or wallet_reader (the API's role may
not read the tables): the entries and stored state of given wallets, what wallet.verify_ledger() says of them,
their holds, and the check of a run whose requests are known only by their keys' prefix (scripts/bench.sh)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from ledgercheck.core import Entry, Snapshot, walk
from ledgercheck.holds import Hold

ENTRIES_OF_WALLETS = """
    SELECT o.wallet_id::text, o.seq, o.transfer_id::text, o.amount, o.balance_after, o.idempotency_key,
        o.counterparty_wallet_id::text, o.operation_type
    FROM wallet.operations AS o
    WHERE o.wallet_id = ANY($1::uuid[])
    ORDER BY o.wallet_id, o.seq"""
# Every leg of the transfers whose keyed entry has the prefix, with the balance_after of the entry before it.
LEGS_OF_KEYED_RUN = """
    WITH run AS (SELECT transfer_id FROM wallet.operations WHERE starts_with(idempotency_key, $1))
    SELECT o.wallet_id::text, o.seq, o.transfer_id::text, o.amount, o.balance_after, o.idempotency_key,
        o.counterparty_wallet_id::text, o.operation_type, coalesce(p.balance_after, 0) AS balance_before
    FROM wallet.operations AS o
    LEFT JOIN wallet.operations AS p ON p.wallet_id = o.wallet_id AND p.seq = o.seq - 1
    WHERE o.transfer_id IN (SELECT transfer_id FROM run)"""
HOLDS_OF_WALLETS = """
    SELECT h.wallet_id::text, h.id::text AS hold_id, h.amount, h.status,
        h.status = 'active' AND h.expires_at <= now() AS due, h.captured_amount,
        h.capture_transfer_id::text AS transfer_id, h.capture_to_wallet_id::text AS to_wallet_id
    FROM wallet.holds AS h
    WHERE h.wallet_id = ANY($1::uuid[])"""


class Connection(Protocol):
    """An asyncpg connection or pool."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...


@dataclass
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    closings: dict[str, Snapshot] = field(default_factory=dict)
    inconsistent: list[dict[str, Any]] = field(default_factory=list)  # wallet.verify_ledger() rows


def entry(row: Any) -> Entry:
    return Entry(
        wallet_id=row["wallet_id"],
        seq=row["seq"],
        transfer_id=row["transfer_id"],
        amount=row["amount"],
        balance_after=row["balance_after"],
        idempotency_key=row["idempotency_key"],
        counterparty=row["counterparty_wallet_id"],
        kind=row["operation_type"],
    )


async def load(con: Connection, wallets: Sequence[str]) -> Ledger:
    """Every entry and the stored state of `wallets` (ids as text), and verify_ledger()'s rows for them."""
    ids = [str(w) for w in wallets]
    rows = await con.fetch(ENTRIES_OF_WALLETS, ids)
    states = await con.fetch("SELECT id::text, balance, version FROM wallet.wallets WHERE id = ANY($1::uuid[])", ids)
    inconsistent = await con.fetch(
        "SELECT v.* FROM unnest($1::uuid[]) AS w (id), LATERAL wallet.verify_ledger(w.id) AS v", ids
    )
    return Ledger(
        entries=[entry(r) for r in rows],
        closings={r["id"]: Snapshot(r["balance"], r["version"]) for r in states},
        inconsistent=[dict(r) for r in inconsistent],
    )


async def load_holds(con: Connection, wallets: Sequence[str]) -> tuple[list[Hold], dict[str, tuple[Decimal, Decimal]]]:
    """Every hold of `wallets`, and each wallet's (balance, held). Read in the transaction of load() (REPEATABLE
    READ) when the two must agree: the API's sweep expires holds at any time."""
    ids = [str(w) for w in wallets]
    rows = await con.fetch(HOLDS_OF_WALLETS, ids)
    states = await con.fetch("SELECT id::text, balance, held FROM wallet.wallets WHERE id = ANY($1::uuid[])", ids)
    return [Hold(**dict(r)) for r in rows], {r["id"]: (r["balance"], r["held"]) for r in states}


@dataclass
class KeyedRun:
    """What scripts/bench.sh's check found for one wrk run."""

    entries: int  # entries whose key has the run's prefix (one per applied request)
    moved: Decimal  # the effect of every leg of their transfers, each from its own balance_after arithmetic
    total_before: Decimal
    total_after: Decimal
    inconsistent: int  # wallet.verify_ledger() rows, the whole ledger
    problems: list[str]

    @property
    def sums_match(self) -> bool:
        return self.total_before + self.moved == self.total_after


async def check_keyed_run(con: Connection, prefix: str, total_before: Decimal) -> KeyedRun:
    """The run's requests are the entries whose key starts with `prefix`; every leg of their transfers counts.
    Each leg is signed by what it did (balance_after minus the entry before it on its wallet), so together they
    must move the sum of all balances from `total_before` to what it is now."""
    rows = await con.fetch(LEGS_OF_KEYED_RUN, prefix)
    moved = Decimal(0)
    problems: list[str] = []
    for row in rows:
        leg = walk(row["balance_before"], row["seq"] - 1, [entry(row)])
        moved += leg.deltas[0]
        problems += leg.problems
    return KeyedRun(
        entries=sum(1 for r in rows if (r["idempotency_key"] or "").startswith(prefix)),
        moved=moved,
        total_before=total_before,
        total_after=await con.fetchval("SELECT coalesce(sum(balance), 0) FROM wallet.wallets"),
        inconsistent=await con.fetchval("SELECT count(*) FROM wallet.verify_ledger()"),
        problems=problems,
    )
