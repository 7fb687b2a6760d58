"""The pure core: one wallet's ledger walked by its own arithmetic, and a run's client requests reconciled with
the entries they left. No I/O, and no table of entry kinds: what each kind does to a balance is defined once, in
the database (wallet.entry_kinds). Here an entry's effect is what it did: its balance_after minus the one before."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NamedTuple

Outcome = Literal["acked", "refused", "unknown"]
COUNTS = (
    "lost",
    "duplicated",
    "mismatched",
    "refused_but_applied",
    "phantom",
    "wrong_balances",
    "bad_walks",
    "unbalanced",
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger entry (a leg of a transfer), as read from the database or from GET .../operations."""

    wallet_id: str
    seq: int
    transfer_id: str
    amount: Decimal
    balance_after: Decimal
    idempotency_key: str | None = None
    counterparty: str | None = None  # the other wallet of a transfer between wallets: its leg must exist there
    kind: str = ""  # display only: no check reads it


class Snapshot(NamedTuple):
    """A wallet's stored state: before a run (its opening) or after it (its closing). version = the last seq."""

    balance: Decimal
    version: int


@dataclass(frozen=True, slots=True)
class Movement:
    """What one client request asked for: `amount` from `source` to `destination`; None is the outside world
    (a deposit has no source, a withdrawal no destination). The key sits on the owner's leg: the source's, or a
    deposit's wallet's. transfer_id is what the client was told, if anything."""

    key: str | None
    source: str | None
    destination: str | None
    amount: Decimal
    outcome: Outcome
    transfer_id: str | None = None

    @property
    def owner(self) -> str | None:
        return self.source or self.destination

    def effects(self) -> list[tuple[str, Decimal]]:
        """The client's intent, signed per wallet: what leaves the source arrives at the destination."""
        out = [(self.source, -self.amount)] if self.source else []
        return out + ([(self.destination, self.amount)] if self.destination else [])

    def __str__(self) -> str:
        told = f", told transfer {self.transfer_id}" if self.transfer_id else ""
        source, destination = self.source or "world", self.destination or "world"
        return f"{self.key or '(no key)'} ({self.amount} {source} -> {destination}, {self.outcome}{told})"


class Walk(NamedTuple):
    deltas: list[Decimal]  # each entry's signed effect, in the order given
    problems: list[str]
    last: Snapshot  # the balance after the last entry and its seq (the opening when there is none)


def walk(opening_balance: Decimal, opening_seq: int, entries: Sequence[Entry]) -> Walk:
    """One wallet's entries after its opening, in seq order: seq must be contiguous, and each entry must move the
    balance by exactly its amount, one way or the other (delta = balance_after - the previous balance_after)."""
    deltas: list[Decimal] = []
    problems: list[str] = []
    balance, seq = opening_balance, opening_seq
    for e in entries:
        if e.seq != seq + 1:
            problems.append(f"{e.wallet_id}: ledger seq {e.seq} where {seq + 1} was next")
        delta = e.balance_after - balance
        if delta == 0 or abs(delta) != e.amount:
            problems.append(
                f"{e.wallet_id} seq {e.seq} {e.kind}: balance_after {e.balance_after} after {balance} "
                f"moves {delta}, the entry's amount is {e.amount}"
            )
        deltas.append(delta)
        balance, seq = e.balance_after, e.seq
    return Walk(deltas, problems, Snapshot(balance, seq))


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    findings: list[str] = field(default_factory=list)
    applied: int = 0  # movements found in the ledger (acknowledged or not)

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def add(self, count: str, finding: str, n: int = 1) -> None:
        self.counts[count] += n
        self.findings.append(f"{count}: {finding}")


def reconcile(
    openings: Mapping[str, Snapshot],
    movements: Iterable[Movement],
    entries: Iterable[Entry],
    closings: Mapping[str, Snapshot],
) -> Report:
    """Checks that the entries after the openings are exactly the applied movements, each once and whole, and
    that every closing balance is both the ledger's last balance_after and the opening plus the applied movements
    (acknowledged ones, and ones of unknown outcome found in the ledger). `entries` may include entries before
    the openings and of other wallets: only the wallets of `openings`, after their opening seq, are the run's."""
    report = Report()
    run: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        opening = openings.get(e.wallet_id)
        if opening is not None and e.seq > opening.version:
            run[e.wallet_id].append(e)
    delta: dict[tuple[str, int], Decimal] = {}
    wrong: dict[str, str] = {}  # wallet -> the first reason its stored state is wrong
    for wallet, opening in openings.items():
        legs = run[wallet] = sorted(run[wallet], key=lambda e: e.seq)
        walked = walk(opening.balance, opening.version, legs)
        for problem in walked.problems:
            report.add("bad_walks", problem)
        delta.update(((e.wallet_id, e.seq), d) for e, d in zip(legs, walked.deltas, strict=True))
        closing = closings.get(wallet)
        if closing is None:
            wrong[wallet] = f"{wallet}: no stored state"
        elif closing != walked.last:
            wrong[wallet] = (
                f"{wallet}: stored balance {closing.balance}, version {closing.version}; its ledger ends at "
                f"balance_after {walked.last.balance}, seq {walked.last.version}"
            )

    by_transfer: dict[str, list[Entry]] = defaultdict(list)
    by_key: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for legs in run.values():
        for e in legs:
            by_transfer[e.transfer_id].append(e)
            if e.idempotency_key is not None:
                by_key[(e.wallet_id, e.idempotency_key)].append(e)

    expected = {wallet: opening.balance for wallet, opening in openings.items()}
    claimed: dict[str, Movement] = {}  # transfer id -> the movement it belongs to
    for m in movements:
        if outside := [w for w, _ in m.effects() if w not in openings]:
            report.add("mismatched", f"{m} names wallets this check was not given: {outside}")
        tids = {e.transfer_id for e in by_key.get((m.owner or "", m.key or ""), ())} if m.key else set()
        if m.transfer_id is not None:
            if tids and m.transfer_id not in tids:
                report.add("mismatched", f"{m}: the entry with its key is of transfer {sorted(tids)}")
            tids.add(m.transfer_id)
        legs = [e for tid in sorted(tids) for e in by_transfer.get(tid, ())]
        for tid in sorted({e.transfer_id for e in legs}):
            if tid in claimed:
                report.add("duplicated", f"{m} and {claimed[tid]} are both transfer {tid}")
            claimed[tid] = m
        if not legs:
            if m.outcome == "acked":
                report.add("lost", f"acknowledged {m} is not in the ledger")
            continue
        if m.outcome == "refused":
            report.add("refused_but_applied", f"{m} was refused but is in the ledger: {_show(legs, delta)}")
            continue
        report.applied += 1
        for wallet, effect in m.effects():
            if wallet in expected:
                expected[wallet] += effect
        want = Counter(m.effects())
        got = Counter((e.wallet_id, delta[(e.wallet_id, e.seq)]) for e in legs)
        extra, missing = got - want, want - got
        if doubled := sum(n for side, n in extra.items() if side in want):
            report.add("duplicated", f"{m} is in the ledger more than once: {_show(legs, delta)}", doubled)
        if strange := [side for side in extra if side not in want]:
            report.add("mismatched", f"{m}: its legs are {_show(legs, delta)}")
        if [side for side in missing if all(w != side[0] for w, _ in strange)]:
            report.add("lost", f"{m} lacks a leg: its legs are {_show(legs, delta)}")

    for legs in run.values():
        for e in legs:
            if e.transfer_id not in claimed:
                report.add("phantom", f"entry of no client request: {_show([e], delta)}")

    for wallet, opening in openings.items():
        closing = closings.get(wallet)
        if wallet not in wrong and closing is not None and closing.balance != expected[wallet]:
            wrong[wallet] = (
                f"{wallet}: balance {closing.balance}; its opening {opening.balance} and the applied requests "
                f"make {expected[wallet]}"
            )
    for reason in wrong.values():
        report.add("wrong_balances", reason)

    for tid, legs in by_transfer.items():
        wallets = {e.wallet_id for e in legs} | {e.counterparty for e in legs if e.counterparty}
        if any(e.counterparty for e in legs) and wallets <= openings.keys():
            if not balanced(legs, [delta[(e.wallet_id, e.seq)] for e in legs]):
                report.add("unbalanced", f"transfer {tid}: {_show(legs, delta)}")
    return report


def balanced(legs: Sequence[Entry], deltas: Sequence[Decimal]) -> bool:
    """A transfer between wallets: two legs, each on the other's counterparty, whose effects sum to zero."""
    if len(legs) != 2 or sum(deltas) != 0:
        return False
    a, b = legs
    return (a.counterparty, b.counterparty) == (b.wallet_id, a.wallet_id)


def _show(legs: Iterable[Entry], delta: Mapping[tuple[str, int], Decimal]) -> str:
    return "; ".join(
        f"{e.wallet_id} seq {e.seq} {e.kind or 'entry'} {delta[(e.wallet_id, e.seq)]:+} (transfer {e.transfer_id}, "
        f"key {e.idempotency_key})"
        for e in legs
    )
