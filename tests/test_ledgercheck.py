"""The ledger check's pure core (ledgercheck), fed hand-made entries and requests: no database. Each kind of
finding must be detected, and a faithful ledger must pass."""

from decimal import Decimal

import pytest

from ledgercheck import (
    Entry,
    Movement,
    Outcome,
    Snapshot,
    Tally,
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
