"""Locust load tests of the wallet HTTP API, with an exact check of every balance at the end.

Scenarios (one User class each; pick with WALLET_SCENARIO=hot|many|read|transfer|twostep, a class name on the
command line, or --class-picker in the web UI):
  hot       HotWalletUser    every user deposits into and withdraws from ONE wallet (the hot row)
  many      ManyWalletsUser  operations spread over WALLET_LOAD_WALLETS wallets (1000), some replays
  read      ReadHeavyUser    mostly GET wallet / GET operations over the same wallets, some writes
  transfer  TransferUser     transfers between random pairs of those wallets, payments from many of them into
                             one merchant wallet, now and then a refund out of it, some replays
  twostep   TwoStepUser      two-step payments (loadtest/twostep.py): holds on payer wallets captured (to one payee
                             wallet or as withdrawals), voided or left to expire; replays, second captures, partial
                             reversals; its own check reads the database too (WALLET_LOAD_DSN)

Setup runs once, on the master (or the only process): it creates the wallets with
`Idempotency-Key: load-<run id>-<group>-<n>` and hands their ids to the workers. Every request carries its own
Idempotency-Key and alternates the two body shapes (snake_case with "amount": "1.23", camelCase with "amount":
1.23; a transfer sometimes carries metadata). A 400 insufficient_funds on a withdrawal or a transfer is a correct
answer; 5xx, transport errors and any other 4xx are failures.

The check, at the end of a test (ledgercheck's aggregate form, the check chaos, bench and the tests share):
each process tallies, per wallet, the net effect and the entry count of the requests it saw acknowledged (a
transfer: -amount and one entry on its source, +amount and one entry on its destination); a request whose
outcome it never learned (transport error, 5xx, user stopped mid-request) is re-sent with the same
Idempotency-Key, which returns the original result or applies it now, so the outcome becomes known either way.
The workers send their tallies to the master, which walks every wallet's new ledger entries over HTTP (gap-free
seq, each balance_after moving the balance by exactly its amount) and compares them with the tally and the GET
balance and version; a fingerprint of the transfer legs proves both legs of every transfer are there. Any
mismatch sets the exit code to 1; Locust itself exits 1 on any failed request. WALLET_LOAD_REPORT names a JSON
file the check writes its result to (scripts/load.sh reads it).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import gevent
import requests
from gevent.pool import Pool
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from ledgercheck import Snapshot, Tally, Told, check_wallet, fingerprint_ok
from ledgercheck.http import LoadError, read_wallet

log = logging.getLogger("wallet.load")

API = "/api/v1/wallets"
TRANSFERS = "/api/v1/transfers"
WALLETS = int(os.environ.get("WALLET_LOAD_WALLETS", "1000"))
# Opening balances in cents. The hot wallet's balance random-walks around its start, so some
# withdrawals meet insufficient funds: the guard is exercised under contention too. The merchant starts
# empty: its first refunds are refused. Two-step payers start with 20.00, two holds' worth: some holds are
# refused for insufficient funds (the available balance, under contention), and deposits top them up.
OPENING = {
    "hot": int(Decimal(os.environ.get("WALLET_LOAD_HOT_BALANCE", "1000.00")) * 100),
    "spread": int(Decimal(os.environ.get("WALLET_LOAD_BALANCE", "100.00")) * 100),
    "merchant": 0,
    "payer": 2000,
    "payee": 0,
}
SIZE = {"hot": 1, "merchant": 1, "payee": 1}  # wallets per group; the others have WALLETS
MAX_CENTS = 1000  # amounts are 0.01 .. 10.00
SETUP_CONCURRENCY = 16

SCENARIOS = {
    "hot": "HotWalletUser",
    "many": "ManyWalletsUser",
    "read": "ReadHeavyUser",
    "transfer": "TransferUser",
    "twostep": "TwoStepUser",
}
SCENARIO = os.environ.get("WALLET_SCENARIO", "").strip()
if SCENARIO and SCENARIO not in SCENARIOS:
    raise SystemExit(f"WALLET_SCENARIO must be one of {', '.join(SCENARIOS)}, got {SCENARIO!r}")

JSON_HEADERS = {"Content-Type": "application/json"}
RNG = random.Random()  # noqa: S311 (load shapes, not secrets)
COUNTS = ("deposits", "withdrawals", "transfers", "rejected", "replays", "resolved", "unresolved")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass(frozen=True)
class Request:
    """One mutating request: enough to send it again with its key, and to tally it once it is acknowledged.
    source/destination None is the outside world (a deposit has no source, a withdrawal no destination)."""

    path: str
    body: str
    name: str
    kind: str  # deposits | withdrawals | transfers: what the counts call it
    source: str | None
    destination: str | None
    cents: int


class Seen:
    """What this process saw happen during the current test."""

    def __init__(self) -> None:
        self.wallets: dict[str, list[str]] = {}  # group -> wallet ids, set by setup
        self.ledger = Tally()  # per wallet: the net effect and entry count of the acknowledged requests
        self.counts = dict.fromkeys(COUNTS, 0)  # acknowledged requests by kind, refusals, replays, settlements
        self.pending: dict[str, Request] = {}  # key -> a request whose outcome is not known yet
        self.told = Told()  # two-step payments: each hold and money movement as told (twostep.py)
        self.sent = False  # a worker sends its tally to the master once per test
        self._keys = itertools.count(1)
        self._prefix = ""
        self._pid = 0

    def reset(self, wallets: dict[str, list[str]]) -> None:
        self.__init__()  # type: ignore[misc]
        self.wallets = wallets

    def next_key(self) -> str:
        if self._pid != os.getpid():  # forked by --processes: each process its own key space
            self._pid = os.getpid()
            self._prefix = f"lt-{uuid.uuid4().hex[:12]}-"
        return f"{self._prefix}{next(self._keys)}"

    def ack(self, req: Request) -> None:
        self.ledger.record(req.source, req.destination, Decimal(req.cents) / 100)
        self.counts[req.kind] += 1

    def summary(self) -> dict[str, Any]:
        return {"ledger": self.ledger.to_wire(), "told": self.told.to_wire(), **self.counts}


SEEN = Seen()
# Master/local only: the wallets' state before the test, and the tallies received from workers.
BASELINE: dict[str, Snapshot] = {}
RECEIVED: dict[str, dict[str, Any]] = {}  # worker id -> its tally summary
STATE: dict[str, Any] = {"ready": False, "run_id": ""}


def _session() -> requests.Session:
    s = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=SETUP_CONCURRENCY)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def _json(content: bytes | None) -> dict[str, Any]:
    try:
        doc = json.loads(content or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _problem_code(content: bytes | None) -> str:
    return str(_json(content).get("code", ""))


# --- setup: once, on the master or the only process ---


@events.test_start.add_listener
def on_test_start(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master sends the wallets (the wallet_setup message, see on_init)
    STATE["ready"] = False
    BASELINE.clear()
    RECEIVED.clear()
    run_id = os.environ.get("WALLET_LOAD_RUN_ID") or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    STATE["run_id"] = run_id
    groups = sorted({g for c in environment.user_classes for g in getattr(c, "wallet_groups", ())})
    http = _session()
    host = (environment.host or "").rstrip("/")
    wallets: dict[str, list[str]] = {}
    started = time.monotonic()

    def create(group: str, n: int) -> tuple[str, Snapshot]:
        r = http.post(
            f"{host}{API}",
            json={"initial_balance": _money(OPENING.get(group, OPENING["spread"]))},
            headers={"Idempotency-Key": f"load-{run_id}-{group}-{n}"},
            timeout=30,
        )
        if r.status_code != 201:
            raise RuntimeError(f"creating wallet {group}-{n}: HTTP {r.status_code} {r.text[:300]}")
        w = r.json()  # a replayed create answers with the wallet as it was created: before any of our requests
        return w["id"], Snapshot(Decimal(w["balance"]), int(w["version"]))

    try:
        for group in groups:
            count = SIZE.get(group, WALLETS)
            ids = []
            for wallet_id, opening in Pool(SETUP_CONCURRENCY).imap(create, [group] * count, range(count)):
                ids.append(wallet_id)
                BASELINE[wallet_id] = opening
            wallets[group] = ids
    except Exception as exc:  # the API is down or wrong: no point in running the test
        log.error("setup failed: %s", exc)
        environment.process_exit_code = 1
        gevent.spawn_later(0.1, environment.runner.quit)  # type: ignore[union-attr]
        return
    log.info(
        "run %s: %s ready in %.1f s",
        run_id,
        ", ".join(f"{len(v)} {k} wallet(s)" for k, v in wallets.items()),
        time.monotonic() - started,
    )
    SEEN.reset(wallets)
    STATE["ready"] = True
    environment.stats.reset_all()  # the rates count from here, not from before the setup
    if isinstance(environment.runner, MasterRunner):
        # Sent before the spawn messages (test_start fires first), so workers know the wallets in time.
        environment.runner.send_message("wallet_setup", wallets)


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message("wallet_setup", lambda environment, msg, **kw: SEEN.reset(msg.data))
        runner.register_message("wallet_flush", on_flush, concurrent=True)
    elif isinstance(runner, MasterRunner):
        runner.register_message("wallet_tally", on_tally)


# --- the users ---


class WalletUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    wallet_groups: tuple[str, ...] = ("spread",)

    def on_start(self) -> None:
        deadline = time.monotonic() + 60
        while not all(g in SEEN.wallets for g in self.wallet_groups):
            if time.monotonic() > deadline:
                log.error("no wallets from setup after 60 s; this user stops")
                self.stop()
                return
            gevent.sleep(0.05)
        self.ids = SEEN.wallets[self.wallet_groups[0]]
        self.last_acked: tuple[str, Request] | None = None  # for replays

    def send(self, req: Request) -> None:
        key = SEEN.next_key()
        SEEN.pending[key] = req
        with self.client.post(
            req.path,
            data=req.body,
            headers={**JSON_HEADERS, "Idempotency-Key": key},
            name=req.name,
            catch_response=True,
        ) as r:
            status = r.status_code
            if status in (200, 201):
                del SEEN.pending[key]
                SEEN.ack(req)
                self.last_acked = (key, req)
                r.success()
            elif status == 400 and req.source is not None and _problem_code(r.content) == "insufficient_funds":
                del SEEN.pending[key]
                SEEN.counts["rejected"] += 1
                r.success()
            elif status == 0 or status >= 500:  # outcome unknown: stays pending, settled at the end
                r.failure(f"HTTP {status} {_problem_code(r.content) or r.error}")
            else:  # an answer, but a wrong one: nothing was applied
                del SEEN.pending[key]
                r.failure(f"HTTP {status} {_problem_code(r.content)}")

    def operate(self, wallet: str, kind: str) -> None:
        cents = RNG.randint(1, MAX_CENTS)
        if RNG.random() < 0.5:
            body = f'{{"operation_type":"{kind}","amount":"{_money(cents)}"}}'
        else:  # a JSON number, written out exactly (never through a float)
            body = f'{{"operationType":"{kind}","amount":{_money(cents)}}}'
        # The client's intent: a deposit brings money in from the outside world, a withdrawal takes it out.
        source, destination, counted = (
            (None, wallet, "deposits") if kind == "DEPOSIT" else (wallet, None, "withdrawals")
        )
        self.send(
            Request(
                f"{API}/{wallet}/operation", body, f"{API}/[id]/operation {kind}", counted, source, destination, cents
            )
        )

    def transfer(self, source: str, destination: str, label: str) -> None:
        cents = RNG.randint(1, MAX_CENTS)
        meta = f',"metadata":{{"scenario":"{label}","n":{cents}}}' if RNG.random() < 0.25 else ""
        if RNG.random() < 0.5:
            body = f'{{"from_wallet_id":"{source}","to_wallet_id":"{destination}","amount":"{_money(cents)}"{meta}}}'
        else:
            body = f'{{"fromWalletId":"{source}","toWalletId":"{destination}","amount":{_money(cents)}{meta}}}'
        self.send(Request(TRANSFERS, body, f"{TRANSFERS} {label}", "transfers", source, destination, cents))

    def replay(self) -> None:
        """Re-sends the last acknowledged request with its key: must answer replayed, change nothing."""
        if self.last_acked is None:
            return
        key, req = self.last_acked
        with self.client.post(
            req.path,
            data=req.body,
            headers={**JSON_HEADERS, "Idempotency-Key": key},
            name=f"{req.name.split(' ')[0]} replay",
            catch_response=True,
        ) as r:
            if r.status_code in (200, 201) and _json(r.content).get("replayed") is True:
                SEEN.counts["replays"] += 1
                r.success()
            elif r.status_code in (200, 201):  # applied a second time: count it so the check sees the truth
                SEEN.ack(req)
                r.failure("replay applied the request again")
            else:
                r.failure(f"HTTP {r.status_code} {_problem_code(r.content) or r.error}")

    def read_wallet(self, wallet: str) -> int | None:
        with self.client.get(f"{API}/{wallet}", name=f"{API}/[id]", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code} {_problem_code(r.content) or r.error}")
                return None
            return int(json.loads(r.content)["version"])

    def read_operations(self, wallet: str, after: int, limit: int) -> None:
        with self.client.get(
            f"{API}/{wallet}/operations?after={after}&limit={limit}",
            name=f"{API}/[id]/operations",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code} {_problem_code(r.content) or r.error}")


class HotWalletUser(WalletUser):
    """Every user hammers the same wallet: one row, every operation serialised on its lock."""

    wallet_groups = ("hot",)

    @task
    def deposit(self) -> None:
        self.operate(self.ids[0], "DEPOSIT")

    @task
    def withdraw(self) -> None:
        self.operate(self.ids[0], "WITHDRAW")


class ManyWalletsUser(WalletUser):
    """Operations spread over WALLET_LOAD_WALLETS wallets; now and then a deliberate replay."""

    @task(10)
    def deposit(self) -> None:
        self.operate(RNG.choice(self.ids), "DEPOSIT")

    @task(10)
    def withdraw(self) -> None:
        self.operate(RNG.choice(self.ids), "WITHDRAW")

    @task(1)
    def replay_last(self) -> None:
        self.replay()


class ReadHeavyUser(WalletUser):
    """Mostly reads (~85% of requests): a wallet, or a wallet and its latest operations."""

    @task(4)
    def get_wallet(self) -> None:
        self.read_wallet(RNG.choice(self.ids))

    @task(4)
    def view_wallet(self) -> None:
        wallet = RNG.choice(self.ids)
        version = self.read_wallet(wallet)
        if version is not None:
            self.read_operations(wallet, max(0, version - 10), 10)

    @task(1)
    def deposit(self) -> None:
        self.operate(RNG.choice(self.ids), "DEPOSIT")

    @task(1)
    def withdraw(self) -> None:
        self.operate(RNG.choice(self.ids), "WITHDRAW")


class TransferUser(WalletUser):
    """Money moving between wallets: random pairs of WALLET_LOAD_WALLETS wallets (A->B meets B->A), payments
    from many payers into one merchant wallet (hot on the receiving side), refunds out of it (hot on the paying
    side), and now and then a deliberate replay."""

    wallet_groups = ("spread", "merchant")

    def on_start(self) -> None:
        super().on_start()
        self.merchant = SEEN.wallets.get("merchant", [""])[0]

    @task(5)
    def pair(self) -> None:
        source, destination = RNG.sample(self.ids, 2)
        self.transfer(source, destination, "pair")

    @task(4)
    def pay_merchant(self) -> None:
        self.transfer(RNG.choice(self.ids), self.merchant, "payment")

    @task(1)
    def refund(self) -> None:
        self.transfer(self.merchant, RNG.choice(self.ids), "refund")

    @task(1)
    def replay_last(self) -> None:
        self.replay()


# The two-step scenario has modules of its own, built on WalletUser and SEEN above (Locust loads this file as the
# module `locustfile`, which they import): the users, and what their answers mean with the check at the end.
import twostep_outcomes  # noqa: E402
from twostep import GROUPS as TWOSTEP_GROUPS  # noqa: E402
from twostep import TwoStepUser  # noqa: E402, F401 (Locust runs the User classes it finds here)

if SCENARIO:  # only the chosen scenario's class stays runnable
    for _name in SCENARIOS.values():
        if _name != SCENARIOS[SCENARIO]:
            globals()[_name].abstract = True


# --- the end of a test: settle unknown outcomes, gather the tallies, check every wallet ---


def settle_pending(host: str) -> None:
    """Re-sends each request whose outcome is unknown with its own key: the answer is its outcome."""
    twostep_outcomes.settle(host)
    if not SEEN.pending:
        return
    http = _session()
    pending, SEEN.pending = SEEN.pending, {}

    def settle(item: tuple[str, Request]) -> None:
        key, req = item
        for attempt in range(6):
            try:
                r = http.post(
                    f"{host}{req.path}", data=req.body, headers={**JSON_HEADERS, "Idempotency-Key": key}, timeout=30
                )
            except requests.RequestException:
                gevent.sleep(0.2 * 2**attempt)
                continue
            if r.status_code in (200, 201):
                SEEN.ack(req)
                SEEN.counts["resolved"] += 1
                return
            if r.status_code == 400 and _problem_code(r.content) == "insufficient_funds":
                SEEN.counts["resolved"] += 1
                return
            if r.status_code < 500:
                break
            gevent.sleep(0.2 * 2**attempt)
        log.error("request %s (%s): outcome still unknown", key, req.name)
        SEEN.counts["unresolved"] += 1

    log.info("settling %d request(s) of unknown outcome by re-sending them with their keys", len(pending))
    Pool(SETUP_CONCURRENCY).map(settle, pending.items())


def on_flush(environment: Environment, msg: Any, **_: Any) -> None:
    """Worker: the master is stopping the test. Stop our users, settle, send our tally once."""
    if SEEN.sent:
        return
    environment.runner.stop()  # type: ignore[union-attr]
    settle_pending((environment.host or "").rstrip("/"))
    SEEN.sent = True
    environment.runner.send_message("wallet_tally", SEEN.summary())  # type: ignore[union-attr]


def on_tally(environment: Environment, msg: Any, **_: Any) -> None:
    RECEIVED[msg.node_id] = msg.data


@events.test_stopping.add_listener
def on_test_stopping(environment: Environment, **_: Any) -> None:
    """Master: fired before the workers are told to stop (and, on quit, before anything else), so
    ask them for their tallies here and wait for every one."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner) or not STATE["ready"]:
        return
    STATE["ready"] = False
    workers = {c.id for c in runner.clients.all if c.state != STATE_MISSING}
    runner.send_message("wallet_flush")
    deadline = time.monotonic() + environment.stop_timeout + 60
    while not workers <= RECEIVED.keys() and time.monotonic() < deadline:
        gevent.sleep(0.1)
    missing = sorted(workers - RECEIVED.keys())
    check(environment, list(RECEIVED.values()), missing)


@events.test_stop.add_listener
def on_test_stop(environment: Environment, **_: Any) -> None:
    """The only process (no --processes): its users are stopped now."""
    runner = environment.runner
    if isinstance(runner, MasterRunner | WorkerRunner) or not STATE["ready"]:
        return
    STATE["ready"] = False
    settle_pending((environment.host or "").rstrip("/"))
    check(environment, [SEEN.summary()], [])


def check(environment: Environment, tallies: list[dict[str, Any]], missing_workers: list[str]) -> None:
    started = time.monotonic()
    host = (environment.host or "").rstrip("/")
    ledger, told = Tally(), Told()
    totals = dict.fromkeys(COUNTS, 0)
    for t in tallies:
        ledger.merge(t["ledger"])
        told.merge(t["told"])
        for k in totals:
            totals[k] += t[k]
    problems = [f"no tally from worker {w} (its requests are not accounted for)" for w in missing_workers]
    if totals["unresolved"]:
        problems.append(f"{totals['unresolved']} request(s) whose outcome stayed unknown")
    problems += [
        f"{w}: operated on, but not created by this test's setup" for w in sorted(ledger.net.keys() - BASELINE.keys())
    ]
    http = _session()

    def verify(wallet: str) -> tuple[list[str], int | None]:
        opening = BASELINE[wallet]
        try:
            closing, entries = read_wallet(http, host, wallet, opening.version)
        except (LoadError, requests.RequestException, ValueError, KeyError) as exc:
            return [f"{wallet}: could not be read: {exc!r}"], None
        return check_wallet(wallet, opening, closing, entries, ledger)

    shares: list[int | None] = []
    try:
        for found, share in Pool(SETUP_CONCURRENCY).imap_unordered(verify, list(BASELINE)):
            problems.extend(found)
            shares.append(share)
    except Exception as exc:
        problems.append(f"the check could not finish: {exc!r}")
    if None not in shares and not fingerprint_ok(sum(s or 0 for s in shares)):
        problems.append(
            "the transfers' legs do not cancel out: a leg missing or doubled, naming another wallet, or moving "
            "another amount than its pair (each signed by its balance_after)"
        )
    two: tuple[list[str], dict[str, Any]] | None = None
    if TWOSTEP_GROUPS[0] in SEEN.wallets:
        two = twostep_outcomes.check(told, {w: BASELINE[w] for g in TWOSTEP_GROUPS for w in SEEN.wallets.get(g, ())})
        problems += two[0]
    requests_acked = totals["deposits"] + totals["withdrawals"] + totals["transfers"]
    result = {
        "ok": not problems,
        "run_id": STATE["run_id"],
        "wallets": len(BASELINE),
        "acknowledged_operations": requests_acked,
        "ledger_entries": ledger.acknowledged_entries,
        **totals,
        "problems": problems[:50],
        "problem_count": len(problems),
        "check_seconds": round(time.monotonic() - started, 1),
    }
    if problems:
        environment.process_exit_code = 1
        log.error("BALANCE CHECK FAILED (%d problem(s)):\n  %s", len(problems), "\n  ".join(problems[:20]))
    log.info(
        "balance check %s: %d wallet(s), %d acknowledged request(s) (%d deposit(s), %d withdrawal(s), %d "
        "transfer(s): %d ledger entries), %d refused for insufficient funds, %d replay(s), %d unknown outcome(s) "
        "settled; ledger walked in %.1f s",
        "passed" if not problems else "FAILED",
        len(BASELINE),
        requests_acked,
        totals["deposits"],
        totals["withdrawals"],
        totals["transfers"],
        ledger.acknowledged_entries,
        totals["rejected"],
        totals["replays"],
        totals["resolved"],
        result["check_seconds"],
    )
    if two is not None:
        result["twostep"] = {**two[1], "summary": twostep_outcomes.summary(not two[0], two[1])}
        log.info("%s", result["twostep"]["summary"])
    if report := os.environ.get("WALLET_LOAD_REPORT"):
        with open(report, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
