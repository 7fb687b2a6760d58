"""Two-step payments (holds): what the clients were told about each hold, checked against wallet.holds and the
wallets' held amounts. Pure: the rows come from pg.load_holds, the told outcomes from a load run
(loadtest/twostep.py). The money that captures, reversals and deposits moved is checked like any other request's
(core.reconcile, each with the transfer id its client was told): Told carries those movements too.

Findings, one line each: a hold the clients were told about that wallet.holds lacks or shows otherwise (created,
captured with that transfer and amount, voided, seen expired); a hold acknowledged as captured more than once, or
two holds sharing a capture's transfer; a hold captured or voided that no client was told of; a wallet whose held
amount is negative or above its balance (a negative available balance). That held is the sum of the active holds
is wallet.verify_ledger()'s to say (its rule, written once)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from ledgercheck.core import Movement, Outcome


@dataclass(frozen=True, slots=True)
class Hold:
    """A row of wallet.holds, as the check reads it."""

    wallet_id: str
    hold_id: str
    amount: Decimal
    status: str  # active | captured | voided | expired
    due: bool = False  # active, but past its expires_at: expired, its expiry not recorded yet
    captured_amount: Decimal | None = None
    transfer_id: str | None = None
    to_wallet_id: str | None = None


@dataclass(frozen=True, slots=True)
class Capture:
    """An acknowledged capture: the hold, and what its answer said moved (to_wallet_id None: a withdrawal)."""

    hold_id: str
    wallet_id: str
    transfer_id: str
    amount: Decimal
    to_wallet_id: str | None


class Told:
    """What the clients were told during a run: holds created, captured, voided or seen expired; every money
    movement with its outcome and transfer id; counts for the summary. Travels as JSON-able lists (Locust's
    workers send it to the master) and merges by concatenation."""

    def __init__(self) -> None:
        self.created: dict[str, tuple[str, Decimal]] = {}  # hold -> (its wallet, its amount)
        self.captures: list[Capture] = []  # a list: one hold captured twice must show
        self.voids: dict[str, str] = {}  # hold -> its wallet
        self.expired: dict[str, str] = {}  # hold -> its wallet: seen expired (GET, or a refused capture or void)
        self.movements: list[Movement] = []
        self.counts: Counter[str] = Counter()

    def __bool__(self) -> bool:
        return bool(self.created or self.movements or self.counts)

    def to_wire(self) -> dict[str, Any]:
        return {
            "created": [[h, w, str(a)] for h, (w, a) in self.created.items()],
            "captures": [[c.hold_id, c.wallet_id, c.transfer_id, str(c.amount), c.to_wallet_id] for c in self.captures],
            "voids": [[h, w] for h, w in self.voids.items()],
            "expired": [[h, w] for h, w in self.expired.items()],
            "movements": [
                [m.key, m.source, m.destination, str(m.amount), m.outcome, m.transfer_id] for m in self.movements
            ],
            "counts": dict(self.counts),
        }

    def merge(self, wire: Mapping[str, Any]) -> None:
        self.created.update((h, (w, Decimal(a))) for h, w, a in wire["created"])
        self.captures += [Capture(h, w, t, Decimal(a), to) for h, w, t, a, to in wire["captures"]]
        self.voids.update((h, w) for h, w in wire["voids"])
        self.expired.update((h, w) for h, w in wire["expired"])
        self.movements += [
            Movement(key, src, dst, Decimal(a), cast(Outcome, outcome), tid)
            for key, src, dst, a, outcome, tid in wire["movements"]
        ]
        self.counts.update(wire["counts"])


def check_holds(told: Told, holds: Iterable[Hold], wallets: Mapping[str, tuple[Decimal, Decimal]]) -> list[str]:
    """`holds`: every row of wallet.holds of the run's wallets; `wallets`: each one's (balance, held), read in the
    same snapshot. Returns the findings (none: the holds are what the clients were told)."""
    rows = {h.hold_id: h for h in holds}
    problems: list[str] = []
    for hold_id, (wallet, amount) in told.created.items():
        h = rows.get(hold_id)
        if h is None or (h.wallet_id, h.amount) != (wallet, amount):
            problems.append(f"hold {hold_id}: created on {wallet} for {amount}; wallet.holds has {_show(h)}")

    captured: dict[str, list[Capture]] = defaultdict(list)
    for c in told.captures:
        captured[c.hold_id].append(c)
    for hold_id, caps in captured.items():
        if len(caps) > 1:
            problems.append(f"hold {hold_id}: captured {len(caps)} times: transfers {[c.transfer_id for c in caps]}")
        c, h = caps[0], rows.get(hold_id)
        if h is None or (h.status, h.transfer_id, h.captured_amount, h.to_wallet_id) != (
            "captured",
            c.transfer_id,
            c.amount,
            c.to_wallet_id,
        ):
            to = c.to_wallet_id or "the world"
            said = f"captured by transfer {c.transfer_id} ({c.amount} to {to})"
            problems.append(f"hold {hold_id}: {said}; wallet.holds has {_show(h)}")
    by_transfer: dict[str, list[str]] = defaultdict(list)
    for h in rows.values():
        if h.transfer_id is not None:
            by_transfer[h.transfer_id].append(h.hold_id)
        if h.status == "captured" and h.hold_id not in captured:
            problems.append(f"hold {h.hold_id}: captured, but no client was told so: {_show(h)}")
        if h.status == "voided" and h.hold_id not in told.voids:
            problems.append(f"hold {h.hold_id}: voided, but no client was told so")
    problems += [
        f"transfer {tid} is the capture of {len(ids)} holds: {sorted(ids)}"
        for tid, ids in by_transfer.items()
        if len(ids) > 1
    ]

    for hold_id, wallet in told.voids.items():
        h = rows.get(hold_id)
        if h is None or h.status != "voided":
            problems.append(f"hold {hold_id} of {wallet}: voided; wallet.holds has {_show(h)}")
    for hold_id, wallet in told.expired.items():
        h = rows.get(hold_id)
        if h is None or not (h.status == "expired" or h.due):
            problems.append(f"hold {hold_id} of {wallet}: seen expired; wallet.holds has {_show(h)}")
    for wallet, (balance, held) in wallets.items():
        if not 0 <= held <= balance:
            problems.append(f"{wallet}: held {held}, balance {balance}: available balance {balance - held}")
    return problems


def _show(h: Hold | None) -> str:
    if h is None:
        return "no such hold"
    due = " (past its expiry)" if h.due else ""
    if h.status != "captured":
        return f"{h.status}{due}, {h.amount} on {h.wallet_id}"
    return f"captured {h.captured_amount} of {h.amount} by transfer {h.transfer_id} to {h.to_wallet_id or 'the world'}"
