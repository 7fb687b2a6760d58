"""What each answer of the two-step scenario (twostep.py) means, and the scenario's end-of-test check.

Every request whose outcome matters is a Call: path, body and an `answer` that records what a reply says happened
(SEEN.told, for the check here; SEEN.ledger and SEEN.counts, for locustfile's tally check) and says whether the
reply was an expected one. The same answer reads the reply to a request sent again with its key at the end, when
its first reply never came (settle), so an outcome is recorded once whichever way it became known.

The check, after locustfile's (which walks every wallet against the tally these requests feed too), reads the
database as wallet_reader (WALLET_LOAD_DSN, the password in PGPASSWORD), in one REPEATABLE READ snapshot:
ledgercheck.reconcile() with every deposit, capture and reversal and the transfer id each was told (each once and
whole, the refused ones absent, nothing else), ledgercheck.check_holds() (every hold as told: captured by that
transfer, voided, expired; none captured twice; held within the balance), and wallet.verify_ledger() has no rows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import gevent
import requests
from gevent.pool import Pool
from locust import events
from locustfile import JSON_HEADERS, SEEN, SETUP_CONCURRENCY, _json, _session

from ledgercheck import Capture, Hold, Movement, Outcome, Snapshot, Told, check_holds, reconcile

if TYPE_CHECKING:
    from ledgercheck.pg import Ledger

log = logging.getLogger("wallet.load")

FIGURES = (
    "holds",
    "holds_refused",
    "captures",
    "captures_to_payee",
    "captures_withdrawn",
    "voids",
    "expiries",
    "reversals",
    "reversals_refused",
    "replays",
    "closed_again_refused",
    "top_ups",
)
Answer = Callable[[str, int, dict[str, Any]], str | None]  # (key, status, body) -> None, or why it is wrong


@dataclass(frozen=True)
class Call:
    """One POST whose outcome the check needs: enough to send it again with its key. `answer` reads a reply: it
    records what the reply says happened, and returns None for an expected answer, else why it is not one."""

    path: str
    body: str
    name: str
    answer: Answer


def read_answer(call: Call, key: str, status: int, content: bytes | None) -> str | None:
    """call.answer on a reply; a body without the fields it needs is a wrong answer, not a crash."""
    try:
        return call.answer(key, status, _json(content))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return f"HTTP {status}: an unreadable answer ({exc!r})"


PENDING: dict[str, Call] = {}  # key -> a call whose outcome is not known yet (transport error, 5xx)


@events.test_start.add_listener
def forget_pending(**_: Any) -> None:
    PENDING.clear()


def _cents(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _count(*names: str) -> None:
    SEEN.told.counts.update(names)


def _moved(key: str, src: str | None, dst: str | None, amount: Decimal, outcome: Outcome, tid: str | None) -> None:
    """A money movement's outcome, for both checks: reconcile's per-request one, and locustfile's tally."""
    SEEN.told.movements.append(Movement(key, src, dst, amount, outcome, tid))
    if outcome == "acked":
        SEEN.ledger.record(src, dst, amount)
        SEEN.counts["transfers" if src and dst else "withdrawals" if src else "deposits"] += 1


def _refusal(status: int, doc: dict[str, Any], code: str) -> bool:
    expected = {"insufficient_funds": 400, "hold_not_active": 409, "reversal_exceeds_original": 422}[code]
    return status == expected and doc.get("code") == code


def _wrong(status: int, doc: dict[str, Any]) -> str:
    return f"HTTP {status} {doc.get('code', '')}".rstrip()


# --- what each answer means (also when a call is settled at the end, with the same key) ---


def created(payer: str, cents: int) -> Answer:
    def answer(key: str, status: int, doc: dict[str, Any]) -> str | None:
        if status == 201:
            SEEN.told.created[str(doc["id"])] = (payer, Decimal(doc["amount"]))
            _count("holds")
            # A replay (settle) shows the hold as it is now: a short one may have expired since.
            good = (doc["status"] == "active" or doc["replayed"]) and Decimal(doc["amount"]) == _cents(cents)
            return None if good else f"answered {doc}"
        if _refusal(status, doc, "insufficient_funds"):
            _count("holds_refused")
            return None
        return _wrong(status, doc)

    return answer


def captured(payer: str, hold_id: str, cents: int, to: str | None, refused_as: str | None = None) -> Answer:
    """refused_as: the hold is captured, voided or expired already, so a 409 naming that is expected."""

    def answer(key: str, status: int, doc: dict[str, Any]) -> str | None:
        if status == 200:
            tid, amount = str(doc["transfer_id"]), Decimal(doc["captured_amount"])
            SEEN.told.captures.append(Capture(hold_id, payer, tid, amount, doc["to_wallet_id"]))
            _moved(key, payer, to, _cents(cents), "acked", tid)
            _count("captures", "captures_to_payee" if to else "captures_withdrawn")
            if refused_as:
                return f"a capture of a hold that is {refused_as} took {amount}"
            good = doc["status"] == "captured" and amount == _cents(cents) and doc["to_wallet_id"] == to
            return None if good else f"answered {doc}"
        if refused_as and _refusal(status, doc, "hold_not_active") and f" is {refused_as}" in doc.get("detail", ""):
            _moved(key, payer, to, _cents(cents), "refused", None)
            closed_again(payer, hold_id, refused_as)
            return None
        return _wrong(status, doc)

    return answer


def voided(payer: str, hold_id: str, refused_as: str | None = None) -> Answer:
    def answer(key: str, status: int, doc: dict[str, Any]) -> str | None:
        if status == 200:
            SEEN.told.voids[hold_id] = payer
            _count("voids")
            if refused_as:
                return f"a void of a hold that is {refused_as} succeeded"
            return None if doc["status"] == "voided" else f"answered {doc}"
        if refused_as and _refusal(status, doc, "hold_not_active") and f" is {refused_as}" in doc.get("detail", ""):
            closed_again(payer, hold_id, refused_as)
            return None
        return _wrong(status, doc)

    return answer


def closed_again(payer: str, hold_id: str, status: str) -> None:
    """A hold found closed (captured, voided or expired) by a second capture or void, or by a GET."""
    if status == "expired":
        SEEN.told.expired[hold_id] = payer
        _count("expiries")
    else:
        _count("closed_again_refused")


def replayed(first: dict[str, Any], anew: Answer) -> Answer:
    """The same request again with its key: the original answer, marked replayed. Anything else is read as a new
    request (`anew` records what it did) and is a failure."""

    def answer(key: str, status: int, doc: dict[str, Any]) -> str | None:
        if status == 200 and doc.get("replayed") is True:
            _count("replays")
            same = (doc["status"], doc["transfer_id"]) == (first["status"], first["transfer_id"])
            return None if same else f"the replay answered {doc}, the original {first}"
        return f"a replay answered as a new request: {anew(key, status, doc) or _wrong(status, doc)}"

    return answer


def reversed_(src: str | None, dst: str, cents: int, beyond: bool) -> Answer:
    """A reversal of `cents` moving money from src (None: the outside world, for a withdrawal's) back to dst;
    beyond: it asks for more than remains, so 422 is expected."""

    def answer(key: str, status: int, doc: dict[str, Any]) -> str | None:
        if status == 201:
            _moved(key, src, dst, _cents(cents), "acked", str(doc["id"]))
            _count("reversals")
            return "a reversal beyond what remained succeeded" if beyond else None
        refused = _refusal(status, doc, "insufficient_funds") or (
            beyond and _refusal(status, doc, "reversal_exceeds_original")
        )
        if refused:
            _moved(key, src, dst, _cents(cents), "refused", None)
            _count("reversals_refused")
            return None
        return _wrong(status, doc)

    return answer


def deposited(wallet: str, cents: int) -> Answer:
    def answer(key: str, status: int, doc: dict[str, Any]) -> str | None:
        if status in (200, 201):
            _moved(key, None, wallet, _cents(cents), "acked", str(doc["transfer_id"]))
            _count("top_ups")
            return None
        return _wrong(status, doc)

    return answer


# --- the end of a test: settle unknown outcomes (before locustfile's), then the two-step check ---


def settle(host: str) -> None:
    """Re-sends each call whose outcome is unknown with its own key: the answer is its outcome."""
    if not PENDING:
        return
    http = _session()
    pending = list(PENDING.items())
    PENDING.clear()

    def one(item: tuple[str, Call]) -> None:
        key, call = item
        for attempt in range(6):
            try:
                headers = {**JSON_HEADERS, "Idempotency-Key": key}
                r = http.post(f"{host}{call.path}", data=call.body, headers=headers, timeout=30)
            except requests.RequestException:
                gevent.sleep(0.2 * 2**attempt)
                continue
            if r.status_code < 500:
                if (why := read_answer(call, key, r.status_code, r.content)) is None:
                    SEEN.counts["resolved"] += 1
                    return
                log.error("request %s (%s): %s", key, call.name, why)
                break
            gevent.sleep(0.2 * 2**attempt)
        log.error("request %s (%s): outcome still unknown", key, call.name)
        SEEN.counts["unresolved"] += 1

    log.info("settling %d two-step request(s) of unknown outcome by re-sending them with their keys", len(pending))
    Pool(SETUP_CONCURRENCY).map(one, pending)


async def read(dsn: str, wallets: list[str]) -> tuple[Ledger, list[Hold], dict[str, tuple[Decimal, Decimal]]]:
    # Imported here: the compose stack's Locust image has no asyncpg, and its other scenarios must still load.
    import asyncpg

    from ledgercheck.pg import load, load_holds

    con = await asyncpg.connect(dsn, timeout=10)
    try:
        async with con.transaction(isolation="repeatable_read", readonly=True):  # one snapshot: the sweep moves on
            ledger = await load(con, wallets)
            holds, states = await load_holds(con, wallets)
    finally:
        await con.close()
    return ledger, holds, states


def check(told: Told, openings: Mapping[str, Snapshot]) -> tuple[list[str], dict[str, Any]]:
    """The payer and payee wallets (their openings) against what the clients were told. Returns the problems and
    the figures of the summary line."""
    started = time.monotonic()
    figures: dict[str, Any] = {**dict.fromkeys(FIGURES, 0), **told.counts}
    if not (dsn := os.environ.get("WALLET_LOAD_DSN", "")):
        return ["WALLET_LOAD_DSN is not set: the two-step check reads the database (scripts/load.sh sets it)"], figures
    try:  # asyncpg wants an asyncio loop: one of its own, in a real thread (gevent's pool), not the hub's greenlets
        ledger, holds, states = gevent.get_hub().threadpool.apply(asyncio.run, (read(dsn, list(openings)),))
    except Exception as exc:
        return [f"the two-step check could not read the database: {exc!r}"], figures
    report = reconcile(openings, told.movements, ledger.entries, ledger.closings)
    problems = report.findings + check_holds(told, holds, states)
    problems += [
        "wallet.verify_ledger() disagrees: " + ", ".join(f"{k} {v}" for k, v in row.items())
        for row in ledger.inconsistent
    ]
    figures |= {
        "active_at_end": sum(h.status == "active" and not h.due for h in holds),
        "verify_ledger_rows": len(ledger.inconsistent),
        "check_seconds": round(time.monotonic() - started, 1),
    }
    return problems, figures


def summary(ok: bool, f: Mapping[str, Any]) -> str:
    return (
        f"two-step check {'passed' if ok else 'FAILED'}: {f['holds']} hold(s) ({f['holds_refused']} refused for "
        f"insufficient funds, {f.get('active_at_end', '?')} active at the end), {f['captures']} capture(s) "
        f"({f['captures_to_payee']} to the payee, {f['captures_withdrawn']} as withdrawals), {f['voids']} void(s), "
        f"{f['expiries']} expiry(ies) observed, {f['closed_again_refused']} second capture(s)/void(s) refused, "
        f"{f['reversals']} reversal(s) ({f['reversals_refused']} refused), {f['replays']} replay(s), "
        f"{f['top_ups']} top-up(s); verify_ledger: {f.get('verify_ledger_rows', '?')} row(s); "
        f"database read in {f.get('check_seconds', '?')} s"
    )
