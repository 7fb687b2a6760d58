"""The ledger check's pure core (ledgercheck), fed hand-made entries, holds and requests: no database. Each kind of
finding must be detected, and a faithful ledger must pass."""

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from ledgercheck import (
    Capture,
    Entry,
    Hold,
    Movement,
    Outcome,
    Snapshot,
    Tally,
    Told,
    check_holds,
    check_wallet,
    fingerprint,
    fingerprint_ok,
    reconcile,
    walk,
)
from ledgercheck.__main__ import verdict
from ledgercheck.pg import KeyedRun

A, B, C = "wallet-a", "wallet-b", "wallet-c"
D = Decimal


class Book:
    """A tiny ledger that appends entries the way the database does (seq + 1, balance_after = running sum)."""

    def __init__(self, **balances: str) -> None:
        self.state = {w: Snapshot(D(b), 1) for w, b in balances.items()}
        self.openings = dict(self.state)
        self.entries: list[Entry] = []

    def post(self, wallet: str, delta: str, tid: str, key: str | None = None, counterparty: str | None = None) -> None:
        balance, seq = self.state[wallet]
        after = balance + D(delta)
        self.entries.append(Entry(wallet, seq + 1, tid, abs(D(delta)), after, key, counterparty))
        self.state[wallet] = Snapshot(after, seq + 1)

    def transfer(self, source: str, destination: str, amount: str, tid: str, key: str) -> None:
        self.post(source, f"-{amount}", tid, key, destination)
        self.post(destination, amount, tid, None, source)

    def check(self, movements: list[Movement], **closings: Snapshot) -> dict[str, int]:
        report = reconcile(self.openings, movements, self.entries, {**self.state, **closings})
        print("\n".join(report.findings))
        return {k: v for k, v in report.counts.items() if v}


def deposit(w: str, amount: str, key: str | None, outcome: Outcome = "acked", tid: str | None = None) -> Movement:
    return Movement(key, None, w, D(amount), outcome, tid)


def withdrawal(w: str, amount: str, key: str, outcome: Outcome = "acked") -> Movement:
    return Movement(key, w, None, D(amount), outcome)


def transfer(a: str, b: str, amount: str, key: str, outcome: Outcome = "acked", tid: str | None = None) -> Movement:
    return Movement(key, a, b, D(amount), outcome, tid)


def test_a_faithful_ledger_passes_with_every_kind_of_request_and_outcome() -> None:
    book = Book(a="100", b="5", c="0")
    book.post("a", "10", "t1", "k1")
    book.post("b", "-5", "t2", "k2")
    book.transfer("a", "c", "30.25", "t3", "k3")
    book.post("c", "1", "t5", "k5")  # its client never heard back, but it applied
    movements = [
        deposit("a", "10", "k1", tid="t1"),
        withdrawal("b", "5", "k2"),
        transfer("a", "c", "30.25", "k3", tid="t3"),
        withdrawal("b", "7", "k4", "refused"),
        deposit("c", "1", "k5", "unknown"),
        deposit("c", "2", "k6", "unknown"),  # never applied: fine too
    ]
    report = reconcile(book.openings, movements, book.entries, book.state)
    assert report.ok, report.findings
    assert report.applied == 4


def test_a_request_without_key_is_found_by_the_transfer_id_it_was_told() -> None:
    book = Book(a="0")
    book.post("a", "3", "t1", "server-made-key")
    assert book.check([deposit("a", "3", None, tid="t1")]) == {}


def test_an_acknowledged_request_missing_from_the_ledger_is_lost() -> None:
    book = Book(a="100")
    book.post("a", "10", "t1", "k1")
    assert book.check([deposit("a", "10", "k1"), withdrawal("a", "4", "k2")]) == {"lost": 1}


def test_a_transfer_with_only_its_source_leg_is_lost_and_unbalanced() -> None:
    book = Book(a="100", b="0")
    book.post("a", "-10", "t1", "k1", counterparty="b")
    assert book.check([transfer("a", "b", "10", "k1")]) == {"lost": 1, "unbalanced": 1, "wrong_balances": 1}


def test_a_request_applied_twice_is_duplicated() -> None:
    book = Book(a="100")
    book.post("a", "10", "t1", "k1")
    book.post("a", "10", "t2", "k1")  # the same key twice: what the unique constraint forbids
    assert book.check([deposit("a", "10", "k1")]) == {"duplicated": 1, "wrong_balances": 1}


def test_a_transfer_with_two_arrivals_is_duplicated_and_unbalanced() -> None:
    book = Book(a="100", b="0")
    book.transfer("a", "b", "10", "t1", "k1")
    book.post("b", "10", "t1", None, counterparty="a")
    assert book.check([transfer("a", "b", "10", "k1")]) == {"duplicated": 1, "unbalanced": 1, "wrong_balances": 1}


def test_an_entry_of_no_request_is_a_phantom() -> None:
    book = Book(a="100")
    book.post("a", "10", "t1", "k1")
    book.post("a", "-1", "t9", "someone-else")
    assert book.check([deposit("a", "10", "k1")]) == {"phantom": 1, "wrong_balances": 1}


def test_entries_before_the_opening_are_not_the_runs() -> None:
    book = Book(a="100")
    book.post("a", "10", "t0", "earlier")
    book.openings = dict(book.state)
    book.post("a", "1", "t1", "k1")
    assert book.check([deposit("a", "1", "k1")]) == {}


def test_a_wrong_balance_after_breaks_the_walk() -> None:
    book = Book(a="100")
    book.post("a", "10", "t1", "k1")
    bad = book.entries[0]
    book.entries[0] = Entry(bad.wallet_id, bad.seq, bad.transfer_id, bad.amount, D("111"), bad.idempotency_key)
    book.state["a"] = Snapshot(D("111"), 2)
    assert book.check([deposit("a", "10", "k1")]) == {"bad_walks": 1, "mismatched": 1, "wrong_balances": 1}


def test_a_gap_in_seq_breaks_the_walk() -> None:
    book = Book(a="100")
    book.post("a", "10", "t1", "k1")
    book.state["a"] = Snapshot(D("120"), 3)
    book.post("a", "10", "t2", "k2")
    del book.entries[0]
    counts = book.check([deposit("a", "10", "k1"), deposit("a", "10", "k2")])
    assert counts["bad_walks"] >= 1 and counts["lost"] == 1


def test_transfer_legs_that_do_not_cancel_are_unbalanced_and_mismatched() -> None:
    book = Book(a="100", b="0")
    book.post("a", "-10", "t1", "k1", counterparty="b")
    book.post("b", "9", "t1", None, counterparty="a")
    assert book.check([transfer("a", "b", "10", "k1")]) == {"mismatched": 1, "unbalanced": 1, "wrong_balances": 1}


def test_a_refused_request_in_the_ledger_is_refused_but_applied() -> None:
    book = Book(a="1")
    book.post("a", "-1", "t1", "k1")
    assert book.check([withdrawal("a", "1", "k1", "refused")]) == {"refused_but_applied": 1, "wrong_balances": 1}


def test_an_acknowledgement_naming_another_transfer_is_mismatched() -> None:
    book = Book(a="100", b="0")
    book.transfer("a", "b", "10", "t1", "k1")
    assert book.check([transfer("a", "b", "10", "k1", tid="t2")]) == {"mismatched": 1}


def test_a_leg_in_the_wrong_direction_is_mismatched() -> None:
    book = Book(a="100")
    book.post("a", "-10", "t1", "k1")
    assert book.check([deposit("a", "10", "k1")]) == {"mismatched": 1, "wrong_balances": 1}


def test_a_stored_balance_or_version_other_than_the_ledgers_is_wrong() -> None:
    book = Book(a="100", b="100")
    book.post("a", "10", "t1", "k1")
    counts = book.check([deposit("a", "10", "k1")], a=Snapshot(D("111"), 2), b=Snapshot(D("100"), 2))
    assert counts == {"wrong_balances": 2}


def test_walk_signs_entries_by_their_own_arithmetic() -> None:
    entries = [
        Entry(A, 2, "t1", D("5"), D("15"), kind="ANY"),
        Entry(A, 3, "t2", D("15"), D("0"), kind="KIND"),
        Entry(A, 4, "t3", D("1"), D("0")),  # moves nothing
    ]
    walked = walk(D("10"), 1, entries)
    assert walked.deltas == [D("5"), D("-15"), D("0")]
    assert len(walked.problems) == 1 and "seq 4" in walked.problems[0]
    assert walked.last == Snapshot(D("0"), 4)


def test_the_tally_travels_merges_and_matches_a_faithful_ledger() -> None:
    one, two = Tally(), Tally()
    one.record(A, B, D("2.50"))
    two.record(None, A, D("1"))
    two.record(B, None, D("0.50"))
    merged = Tally()
    merged.merge(one.to_wire())
    merged.merge(two.to_wire())
    assert (merged.net, merged.entries) == ({A: D("-1.50"), B: D("2.00")}, {A: 2, B: 2})
    a = [Entry(A, 2, "t1", D("2.50"), D("7.50"), counterparty=B), Entry(A, 3, "t2", D("1"), D("8.50"))]
    b = [Entry(B, 2, "t1", D("2.50"), D("2.50"), counterparty=A), Entry(B, 3, "t3", D("0.50"), D("2.00"))]
    found_a, print_a = check_wallet(A, Snapshot(D(10), 1), Snapshot(D("8.50"), 3), a, merged)
    found_b, print_b = check_wallet(B, Snapshot(D(0), 1), Snapshot(D("2.00"), 3), b, merged)
    assert found_a == found_b == []
    assert fingerprint_ok(print_a + print_b)


@pytest.mark.parametrize(
    ("closing", "entries", "expect"),
    [
        (Snapshot(D("7.50"), 2), [Entry(A, 2, "t1", D("2.50"), D("7.50"))], "2 acknowledged"),
        (Snapshot(D("9.50"), 3), [Entry(A, 2, "t", D("2"), D("12")), Entry(A, 3, "u", D("2.50"), D("9.50"))], "by"),
        (Snapshot(D("8.51"), 3), [Entry(A, 2, "t", D("2.50"), D("7.50")), Entry(A, 3, "u", D("1"), D("8.50"))], "ends"),
    ],
    ids=["an entry missing", "amounts differ", "stored balance tampered"],
)
def test_the_tally_check_finds_each_disagreement(closing: Snapshot, entries: list[Entry], expect: str) -> None:
    tally = Tally()
    tally.record(A, B, D("2.50"))
    tally.record(None, A, D("1"))
    problems, _ = check_wallet(A, Snapshot(D(10), 1), closing, entries, tally)
    assert any(expect in p for p in problems), problems


def test_the_fingerprint_finds_a_missing_leg_and_a_leg_naming_another_wallet() -> None:
    out = Entry(A, 2, "t1", D("1.25"), D("8.75"), counterparty=B)
    arrival = Entry(B, 2, "t1", D("1.25"), D("1.25"), counterparty=A)
    elsewhere = Entry(C, 2, "t1", D("1.25"), D("1.25"), counterparty=A)
    assert fingerprint_ok(fingerprint([out], [D("-1.25")]) + fingerprint([arrival], [D("1.25")]))
    assert not fingerprint_ok(fingerprint([out], [D("-1.25")]))
    assert not fingerprint_ok(fingerprint([out], [D("-1.25")]) + fingerprint([elsewhere], [D("1.25")]))
    assert not fingerprint_ok(fingerprint([out], [D("-1.25")]) + fingerprint([arrival], [D("1.24")]))


def test_the_bench_verdict_keeps_its_words() -> None:
    run = KeyedRun(entries=105, moved=D(90), total_before=D(1000), total_after=D(1090), inconsistent=0, problems=[])
    assert verdict(run, 100, 64) == (True, "exact(105 entries, 5 unacknowledged)")
    assert verdict(run, 106, 64) == (
        False,
        "MISMATCH(entries 105, acknowledged 106, sums match: t, verify_ledger rows: 0)",
    )
    run.total_after = D(1091)
    assert verdict(run, 100, 64)[1].startswith("MISMATCH(entries 105, acknowledged 100, sums match: f")


# --- holds (two-step payments): wallet.holds against what the clients were told ---


def told_and_holds() -> tuple[Told, list[Hold], dict[str, tuple[Decimal, Decimal]]]:
    """A faithful run: h1 captured in part to B, h2 captured whole as a withdrawal, h3 voided, h4 expired (recorded),
    h5 expired (not yet recorded: due), h6 still active; A holds 2 of its 10."""
    told = Told()
    told.created = {
        h: (A, D(a)) for h, a in (("h1", "5"), ("h2", "1"), ("h3", "2"), ("h4", "3"), ("h5", "4"), ("h6", "2"))
    }
    told.captures = [Capture("h1", A, "t1", D("4.50"), B), Capture("h2", A, "t2", D("1"), None)]
    told.voids = {"h3": A}
    told.expired = {"h4": A, "h5": A}
    holds = [
        Hold(A, "h1", D("5.0000"), "captured", captured_amount=D("4.5000"), transfer_id="t1", to_wallet_id=B),
        Hold(A, "h2", D("1"), "captured", captured_amount=D("1"), transfer_id="t2"),
        Hold(A, "h3", D("2"), "voided"),
        Hold(A, "h4", D("3"), "expired"),
        Hold(A, "h5", D("4"), "active", due=True),
        Hold(A, "h6", D("2"), "active"),
    ]
    return told, holds, {A: (D("10"), D("6")), B: (D("4.50"), D("0"))}


def test_holds_as_the_clients_were_told_pass() -> None:
    told, holds, wallets = told_and_holds()
    assert check_holds(told, holds, wallets) == []


Rows = dict[str, dict[str, Any] | Hold | None]  # hold -> changes to its row, a row of its own, or no row
CAPTURED_T1 = Hold(A, "h7", D("1"), "captured", captured_amount=D("1"), transfer_id="t1")
SPOILED: dict[str, tuple[Rows, list[Capture], dict[str, tuple[Decimal, Decimal]], str]] = {
    "a created hold is missing": ({"h6": None}, [], {}, "h6: created on"),
    "a created hold has another amount": ({"h6": {"amount": D("2.01")}}, [], {}, "h6: created on"),
    "a capture's hold is still active": (
        {"h2": {"status": "active", "captured_amount": None, "transfer_id": None}},
        [],
        {},
        "h2: captured by transfer t2",
    ),
    "a hold captured by another transfer": ({"h1": {"transfer_id": "t9"}}, [], {}, "h1: captured by transfer t1"),
    "a hold captured for another amount": ({"h1": {"captured_amount": D("5")}}, [], {}, "h1: captured by"),
    "a hold captured to another wallet": ({"h2": {"to_wallet_id": C}}, [], {}, "h2: captured by"),
    "a hold acknowledged as captured twice": ({}, [Capture("h1", A, "t3", D("4.50"), B)], {}, "h1: captured 2 times"),
    "two holds share a capture's transfer": (  # each client told its hold was captured by it
        {"h7": CAPTURED_T1},
        [Capture("h7", A, "t1", D("1"), None)],
        {},
        "transfer t1 is the capture of 2 holds",
    ),
    "a hold captured that no client was told of": (
        {"h6": {"status": "captured", "captured_amount": D("2"), "transfer_id": "t8"}},
        [],
        {},
        "h6: captured, but no client was told so",
    ),
    "a voided hold that is active": ({"h3": {"status": "active"}}, [], {}, "h3 of wallet-a: voided;"),
    "a hold voided that no client was told of": ({"h6": {"status": "voided"}}, [], {}, "h6: voided, but no client"),
    "a hold seen expired that is active": ({"h5": {"due": False}}, [], {}, "h5 of wallet-a: seen expired"),
    "held above the balance": ({}, [], {A: (D("5.99"), D("6"))}, "available balance -0.01"),
    "held below zero": ({}, [], {B: (D("4.50"), D("-1"))}, "held -1"),
}


@pytest.mark.parametrize("case", SPOILED, ids=list(SPOILED))
def test_check_holds_finds_each_disagreement(case: str) -> None:
    rows, captures, states, expect = SPOILED[case]
    told, holds, wallets = told_and_holds()
    spoiled = {h.hold_id: h for h in holds}
    for hold_id, change in rows.items():
        if change is None:
            del spoiled[hold_id]
        else:
            spoiled[hold_id] = change if isinstance(change, Hold) else replace(spoiled[hold_id], **change)
    told.captures += captures
    problems = check_holds(told, spoiled.values(), {**wallets, **states})
    assert len(problems) == 1 and expect in problems[0], problems


def test_what_was_told_travels_as_json_and_merges() -> None:
    one, _, _ = told_and_holds()
    one.movements = [Movement("k1", A, B, D("4.50"), "acked", "t1"), Movement("k2", A, None, D("1"), "refused")]
    one.counts.update(["captures", "captures", "voids"])
    two = Told()
    two.captures = [Capture("h1", A, "t3", D("4.50"), B)]
    two.counts.update(["captures"])
    merged = Told()
    for told in (one, two):
        merged.merge(json.loads(json.dumps(told.to_wire())))
    assert (merged.created, merged.voids, merged.expired) == (one.created, one.voids, one.expired)
    assert merged.captures == one.captures + two.captures and merged.movements == one.movements
    assert merged.counts == {"captures": 3, "voids": 1} and bool(merged) and not Told()
