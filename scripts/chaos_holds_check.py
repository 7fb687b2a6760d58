"""The verdict on the chaos run's holds and reversals (scripts/chaos_holds.py), read straight from PostgreSQL as the
superuser. The money they moved is ledgercheck's to judge (Book.movements); here, what the ledger alone cannot say:

  holds_lost          an acknowledged hold is not in wallet.holds as told (id, key, amount, wallet)
  holds_phantom       a hold of the run's wallets that no request of the run may have made (none, or a refused one)
  captures_unlinked   an acknowledged capture whose hold is not captured by it (its key, amount, transfer, payee)
  double_captures     two acknowledged captures of one hold, or two holds naming one capture transfer
  bad_captures        a captured hold whose capture was refused or is no request of the run, or came after expiry
  voids_unlinked      an acknowledged void whose hold is not voided by it
  bad_voids           a voided hold whose void was refused or is no request of the run, or came after expiry
  reversals_unlinked  an acknowledged reversal that wallet.reversals does not link to its original (or other amount)
  reversals_phantom   a wallet.reversals row of no reversal request of the run that may have made it, or of another
                      original than the one its request named
  over_reversed       the reversals of one original sum to more than it
  held_wrong          a wallet whose held is not the sum of its active holds, is negative, or exceeds its balance"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg
from chaos_holds import Book

STEP_KINDS = ("HOLD", "CAPTURE", "VOID", "REVERSAL")
CHECKS = (
    "holds_lost",
    "holds_phantom",
    "captures_unlinked",
    "double_captures",
    "bad_captures",
    "voids_unlinked",
    "bad_voids",
    "reversals_unlinked",
    "reversals_phantom",
    "over_reversed",
    "held_wrong",
)
HOLDS = """
    SELECT h.wallet_id::text, h.id::text, h.amount, h.status, h.status = 'active' AND h.expires_at <= now() AS due,
        h.idempotency_key, h.close_key, h.captured_amount, h.capture_transfer_id::text,
        h.capture_to_wallet_id::text, h.closed_at < h.expires_at AS closed_in_time
    FROM wallet.holds AS h
    WHERE h.wallet_id = ANY($1::uuid[])"""
# A reversal's key is on its owner's leg: the wallet that pays back, the wallet of wallet.reversals.
REVERSALS = """
    SELECT r.wallet_id::text, r.transfer_id::text, r.reverses::text, r.amount, o.idempotency_key
    FROM wallet.reversals AS r
    LEFT JOIN wallet.operations AS o ON o.wallet_id = r.wallet_id AND o.transfer_id = r.transfer_id
    WHERE r.wallet_id = ANY($1::uuid[])"""
HELD = """
    SELECT w.id::text, w.balance, w.held,
        (SELECT coalesce(sum(h.amount), 0) FROM wallet.holds AS h WHERE h.wallet_id = w.id AND h.status = 'active')
            AS active
    FROM wallet.wallets AS w
    WHERE w.id = ANY($1::uuid[])"""


@dataclass
class Verdict:
    checks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    findings: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the counts, for the run's summary
    pending: int = 0
    unexpected: int = 0

    def add(self, check: str, finding: str) -> None:
        self.checks[check] += 1
        self.findings.append(f"{check}: {finding}")


async def check(con: asyncpg.Connection, book: Book) -> Verdict:
    v = Verdict()
    holds = await con.fetch(HOLDS, book.wallets)
    check_holds(book, [dict(r) for r in holds], v)
    check_reversals(book, [dict(r) for r in await con.fetch(REVERSALS, book.wallets)], v)
    for w in await con.fetch(HELD, book.wallets):
        if w["held"] != w["active"] or not 0 <= w["held"] <= w["balance"]:
            v.add("held_wrong", f"{w['id']}: balance {w['balance']}, held {w['held']}, active holds {w['active']}")
    steps = list(book.steps())
    v.pending = sum(s.outcome == "pending" for s in steps)
    v.unexpected = sum(s.outcome == "failed" for s in steps)
    v.findings += [f"unexpected answer to {s.key}: {s.note}" for s in steps if s.outcome == "failed"][:10]
    v.lines = summary_lines(book, holds)
    return v


def check_holds(book: Book, rows: list[dict[str, Any]], v: Verdict) -> None:
    wallet = book.wallets
    by_id = {r["id"]: r for r in rows}
    for h in book.holds:
        if h.create.outcome != "acked":
            continue
        row = by_id.get(h.hold_id or "")
        if row is None or (row["wallet_id"], row["idempotency_key"], row["amount"]) != (
            wallet[h.create.wallet],
            h.create.key,
            h.create.amount,
        ):
            v.add("holds_lost", f"acknowledged hold {h.hold_id} ({h.create.key}, {h.create.amount}): {row}")
            continue
        acked = [c for c in h.captures if c.outcome == "acked"]
        if len(acked) > 1:
            v.add("double_captures", f"hold {h.hold_id}: captures {[c.key for c in acked]} were all acknowledged")
        for c in acked:
            payee = wallet[c.destination] if c.destination is not None else None
            told = ("captured", c.key, c.amount, c.transfer_id, payee)
            got = (row["status"], row["close_key"], row["captured_amount"], row["capture_transfer_id"])
            if (*got, row["capture_to_wallet_id"]) != told:
                v.add(
                    "captures_unlinked", f"acknowledged capture {c.key} (transfer {c.transfer_id}): the hold is {row}"
                )
        for s in h.voids:
            if s.outcome == "acked" and (row["status"], row["close_key"]) != ("voided", s.key):
                v.add("voids_unlinked", f"acknowledged void {s.key}: the hold is {row}")

    made = {h.create.key: h for h in book.holds}
    for row in rows:
        maker = made.get(row["idempotency_key"] or "")
        if maker is None or maker.create.outcome == "refused" or maker.hold_id not in (None, row["id"]):
            v.add("holds_phantom", f"{row} (its request: {maker.create if maker else None})")
            continue
        closes = {"captured": ("bad_captures", maker.captures), "voided": ("bad_voids", maker.voids)}
        if row["status"] not in closes:
            continue
        name, steps = closes[row["status"]]
        closer = {s.key: s for s in steps}.get(row["close_key"] or "")
        if closer is None or closer.outcome == "refused":
            v.add(name, f"hold {row['id']} is {row['status']} by {closer or 'no request of the run'}: {row}")
        elif not row["closed_in_time"]:
            v.add(name, f"hold {row['id']} is {row['status']} at or after its expiry: {row}")
        elif closer.kind == "CAPTURE" and row["captured_amount"] != closer.amount:
            v.add(name, f"hold {row['id']} captured {row['captured_amount']}; {closer.key} asked for {closer.amount}")
    for tid, n in Counter(r["capture_transfer_id"] for r in rows if r["capture_transfer_id"]).items():
        if n > 1:
            v.add("double_captures", f"{n} holds name capture transfer {tid}")


def check_reversals(book: Book, rows: list[dict[str, Any]], v: Verdict) -> None:
    by_transfer = {r["transfer_id"]: r for r in rows}
    for s in book.reversals:
        if s.outcome != "acked":
            continue
        assert s.original is not None
        row = by_transfer.get(s.transfer_id or "")
        if row is None or (row["wallet_id"], row["reverses"], row["amount"]) != (
            book.wallets[s.wallet],
            s.original.transfer_id,
            s.amount,
        ):
            v.add("reversals_unlinked", f"acknowledged reversal {s.key} (transfer {s.transfer_id}): {row}")

    asked = {s.key: s for s in book.reversals}
    originals = {m.transfer_id: m for m in book.reversible}
    total: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        req = asked.get(row["idempotency_key"] or "")
        if (
            req is None
            or req.outcome == "refused"
            or req.original is None
            or req.original.transfer_id != row["reverses"]
        ):
            v.add("reversals_phantom", f"{row} (its request: {req})")
        total[row["reverses"]] += row["amount"]
    for tid, reversed_amount in total.items():
        m = originals.get(tid)
        if m is not None and reversed_amount > Decimal(m.cents) / 100:
            v.add(
                "over_reversed", f"transfer {tid} of {Decimal(m.cents) / 100}: its reversals sum to {reversed_amount}"
            )


def summary_lines(book: Book, holds: list[Any]) -> list[str]:
    steps = list(book.steps())
    creates = Counter(h.create.outcome for h in book.holds)
    captures = [c for h in book.holds for c in h.captures]
    acked = [c for c in captures if c.outcome == "acked"]
    hold_of = {c.key: h for h in book.holds for c in h.captures}
    refused = Counter((c.refusal, c.intent) for c in captures if c.outcome == "refused")
    voids = Counter(s.outcome for h in book.holds for s in h.voids)
    reversals = [s for s in book.reversals if s.outcome == "acked"]
    originals = [(s.cents, s.original.cents, s.original.kind) for s in reversals if s.original is not None]
    not_reversed = Counter(s.refusal for s in book.reversals if s.outcome == "refused")
    return [
        f"two step requests sent: {len(steps)} (holds {len(book.holds)}, captures {len(captures)}, voids "
        f"{voids.total()}, reversals {len(book.reversals)}); retried: {sum(max(0, s.attempts - 1) for s in steps)} "
        f"retries of {sum(s.attempts > 1 for s in steps)} requests",
        f"holds created: {creates['acked']}",
        f"holds refused (insufficient funds): {creates['refused']}",
        f"holds captured: {len(acked)} (partly {sum(c.cents < hold_of[c.key].create.cents for c in acked)}, to "
        f"another wallet {sum(c.destination is not None for c in acked)}, winners of a race of two "
        f"{sum(c.intent == 'race' for c in acked)})",
        f"holds voided: {voids['acked']}",
        f"holds expired: {sum(r['status'] == 'expired' or r['due'] for r in holds)}",
        f"holds still active: {sum(r['status'] == 'active' and not r['due'] for r in holds)}",
        f"double capture attempts refused: {sum(n for (why, _), n in refused.items() if why == 'captured')} "
        f"(a second key {refused['captured', 'double']}, the loser of a race {refused['captured', 'race']})",
        f"captures refused after a void: {sum(n for (why, _), n in refused.items() if why == 'voided')}",
        f"captures refused after the expiry: {sum(n for (why, _), n in refused.items() if why == 'expired')}",
        f"voids refused: {voids['refused']}",
        f"reversals: {len(reversals)} (partial {sum(part < whole for part, whole, _ in originals)}, of captures "
        f"{sum(kind == 'CAPTURE' for *_, kind in originals)}, of reversals "
        f"{sum(kind == 'REVERSAL' for *_, kind in originals)})",
        f"reversals refused (exceeds original): {not_reversed['exceeds']}",
        f"reversals refused (insufficient funds): {not_reversed['insufficient_funds']}",
        "two step replays (an earlier attempt had applied): "
        + ", ".join(f"{kind}={sum(s.replayed and s.kind == kind for s in steps)}" for kind in STEP_KINDS),
    ]
