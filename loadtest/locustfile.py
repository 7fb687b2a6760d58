"""Locust load tests of the wallet HTTP API, with an exact check of every balance at the end.

Scenarios (one User class each; pick with WALLET_SCENARIO=hot|many|read, a class name on the command
line, or --class-picker in the web UI):
  hot   HotWalletUser    every user deposits into and withdraws from ONE wallet (the hot row)
  many  ManyWalletsUser  operations spread over WALLET_LOAD_WALLETS wallets (1000), some replays
  read  ReadHeavyUser    mostly GET wallet / GET operations over the same wallets, some writes

Setup runs once, on the master (or the only process): it creates the wallets with
`Idempotency-Key: load-<run id>-<group>-<n>` and hands their ids to the workers. Every operation
carries its own Idempotency-Key and alternates the two body shapes ({"operation_type", "amount":
"1.23"} and {"operationType", "amount": 1.23}). A 400 insufficient_funds on a withdrawal is a correct
answer; 5xx, transport errors and any other 4xx are failures.

The check, at the end of a test: each process tallies the operations it saw acknowledged (200);
an operation whose outcome it never learned (transport error, 5xx, user stopped mid-request) is
re-sent with the same Idempotency-Key, which returns the original result or applies it now, so the
outcome becomes known either way. The workers send their tallies to the master, which verifies, for
every wallet: GET balance = start + acknowledged deposits - acknowledged withdrawals, and the ledger
entries after the starting version are exactly those operations (count, sums, gap-free seq, each
balance_after). Any mismatch sets the exit code to 1; Locust itself exits 1 on any failed request.
WALLET_LOAD_REPORT names a JSON file the check writes its result to (scripts/load.sh reads it).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import time
import uuid
from decimal import Decimal
from typing import Any

import gevent
import requests
from gevent.pool import Pool
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

log = logging.getLogger("wallet.load")

API = "/api/v1/wallets"
WALLETS = int(os.environ.get("WALLET_LOAD_WALLETS", "1000"))
# Opening balances in cents. The hot wallet's balance random-walks around its start, so some
# withdrawals meet insufficient funds: the guard is exercised under contention too.
HOT_OPENING = int(Decimal(os.environ.get("WALLET_LOAD_HOT_BALANCE", "1000.00")) * 100)
SPREAD_OPENING = int(Decimal(os.environ.get("WALLET_LOAD_BALANCE", "100.00")) * 100)
MAX_CENTS = 1000  # amounts are 0.01 .. 10.00
SETUP_CONCURRENCY = 16
CHECK_PAGE = 1000  # the largest page GET /operations serves

SCENARIOS = {"hot": "HotWalletUser", "many": "ManyWalletsUser", "read": "ReadHeavyUser"}
SCENARIO = os.environ.get("WALLET_SCENARIO", "").strip()
if SCENARIO and SCENARIO not in SCENARIOS:
    raise SystemExit(f"WALLET_SCENARIO must be one of {', '.join(SCENARIOS)}, got {SCENARIO!r}")

JSON_HEADERS = {"Content-Type": "application/json"}
RNG = random.Random()  # noqa: S311 (load shapes, not secrets)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)


class Tally:
    """What this process saw happen to each wallet during the current test."""

    def __init__(self) -> None:
        self.wallets: dict[str, list[str]] = {}  # group -> wallet ids, set by setup
        self.acked: dict[str, list[int]] = {}  # wallet -> [deposited cents, withdrawn cents, deposits, withdrawals]
        self.pending: dict[str, tuple[str, str, int, str]] = {}  # key -> (wallet, type, cents, body)
        self.rejected = 0  # withdrawals answered insufficient_funds
        self.replays = 0  # acknowledged operations re-sent on purpose, answered as replays
        self.resolved = 0  # operations of unknown outcome settled by re-sending them
        self.unresolved = 0  # ... that stayed unknown
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

    def ack(self, wallet: str, kind: str, cents: int) -> None:
        row = self.acked.get(wallet)
        if row is None:
            row = self.acked[wallet] = [0, 0, 0, 0]
        if kind == "DEPOSIT":
            row[0] += cents
            row[2] += 1
        else:
            row[1] += cents
            row[3] += 1

    def summary(self) -> dict[str, Any]:
        return {
            "acked": self.acked,
            "rejected": self.rejected,
            "replays": self.replays,
            "resolved": self.resolved,
            "unresolved": self.unresolved,
        }


TALLY = Tally()
# Master/local only: the wallets' state before the test, and the tallies received from workers.
BASELINE: dict[str, tuple[int, int]] = {}  # wallet -> (balance cents, version)
RECEIVED: dict[str, dict[str, Any]] = {}  # worker id -> its tally summary
STATE: dict[str, Any] = {"ready": False, "run_id": ""}


def _session() -> requests.Session:
    s = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=SETUP_CONCURRENCY)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def _problem_code(content: bytes | None) -> str:
    try:
        return str(json.loads(content or b"{}").get("code", ""))
    except ValueError:
        return ""


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
    groups = sorted({getattr(c, "wallet_group", "") for c in environment.user_classes} - {""})
    http = _session()
    host = (environment.host or "").rstrip("/")
    wallets: dict[str, list[str]] = {}
    started = time.monotonic()

    def create(group: str, n: int) -> tuple[str, int, int]:
        opening = HOT_OPENING if group == "hot" else SPREAD_OPENING
        r = http.post(
            f"{host}{API}",
            json={"initial_balance": _money(opening)},
            headers={"Idempotency-Key": f"load-{run_id}-{group}-{n}"},
            timeout=30,
        )
        if r.status_code != 201:
            raise RuntimeError(f"creating wallet {group}-{n}: HTTP {r.status_code} {r.text[:300]}")
        w = r.json()  # a replayed create answers with the wallet as it is now: our baseline either way
        return w["id"], _cents(w["balance"]), int(w["version"])

    try:
        for group in groups:
            count = 1 if group == "hot" else WALLETS
            ids = []
            for wallet_id, balance, version in Pool(SETUP_CONCURRENCY).imap(create, [group] * count, range(count)):
                ids.append(wallet_id)
                BASELINE[wallet_id] = (balance, version)
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
    TALLY.reset(wallets)
    STATE["ready"] = True
    environment.stats.reset_all()  # the rates count from here, not from before the setup
    if isinstance(environment.runner, MasterRunner):
        # Sent before the spawn messages (test_start fires first), so workers know the wallets in time.
        environment.runner.send_message("wallet_setup", wallets)


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message("wallet_setup", lambda environment, msg, **kw: TALLY.reset(msg.data))
        runner.register_message("wallet_flush", on_flush, concurrent=True)
    elif isinstance(runner, MasterRunner):
        runner.register_message("wallet_tally", on_tally)


# --- the users ---


class WalletUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    wallet_group = "spread"

    def on_start(self) -> None:
        deadline = time.monotonic() + 60
        while self.wallet_group not in TALLY.wallets:
            if time.monotonic() > deadline:
                log.error("no wallets from setup after 60 s; this user stops")
                self.stop()
                return
            gevent.sleep(0.05)
        self.ids = TALLY.wallets[self.wallet_group]
        self.last_acked: tuple[str, str, str] | None = None  # (wallet, key, body) for replays

    def operate(self, wallet: str, kind: str) -> None:
        cents = RNG.randint(1, MAX_CENTS)
        key = TALLY.next_key()
        if RNG.random() < 0.5:
            body = f'{{"operation_type":"{kind}","amount":"{_money(cents)}"}}'
        else:  # a JSON number, written out exactly (never through a float)
            body = f'{{"operationType":"{kind}","amount":{_money(cents)}}}'
        TALLY.pending[key] = (wallet, kind, cents, body)
        with self.client.post(
            f"{API}/{wallet}/operation",
            data=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            name=f"{API}/[id]/operation {kind}",
            catch_response=True,
        ) as r:
            status = r.status_code
            if status == 200:
                del TALLY.pending[key]
                TALLY.ack(wallet, kind, cents)
                self.last_acked = (wallet, key, body)
                r.success()
            elif status == 400 and kind == "WITHDRAW" and b'"insufficient_funds"' in (r.content or b""):
                del TALLY.pending[key]
                TALLY.rejected += 1
                r.success()
            elif status == 0 or status >= 500:  # outcome unknown: stays pending, settled at the end
                r.failure(f"HTTP {status} {_problem_code(r.content) or r.error}")
            else:  # an answer, but a wrong one: nothing was applied
                del TALLY.pending[key]
                r.failure(f"HTTP {status} {_problem_code(r.content)}")

    def replay(self) -> None:
        """Re-sends the last acknowledged operation with its key: must answer replayed, change nothing."""
        if self.last_acked is None:
            return
        wallet, key, body = self.last_acked
        with self.client.post(
            f"{API}/{wallet}/operation",
            data=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            name=f"{API}/[id]/operation replay",
            catch_response=True,
        ) as r:
            if r.status_code == 200 and b'"replayed":true' in (r.content or b""):
                TALLY.replays += 1
                r.success()
            elif r.status_code == 200:  # applied a second time: count it so the check sees the truth
                kind, cents = _kind_cents(body)
                TALLY.ack(wallet, kind, cents)
                r.failure("replay applied the operation again")
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


def _kind_cents(body: str) -> tuple[str, int]:
    data = json.loads(body)
    kind = data.get("operation_type") or data.get("operationType")
    return kind, _cents(str(data["amount"]))


class HotWalletUser(WalletUser):
    """Every user hammers the same wallet: one row, every operation serialised on its lock."""

    wallet_group = "hot"

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


if SCENARIO:  # only the chosen scenario's class stays runnable
    for _name in SCENARIOS.values():
        if _name != SCENARIOS[SCENARIO]:
            globals()[_name].abstract = True


# --- the end of a test: settle unknown outcomes, gather the tallies, check every wallet ---


def settle_pending(host: str) -> None:
    """Re-sends each operation whose outcome is unknown with its own key: the answer is its outcome."""
    if not TALLY.pending:
        return
    http = _session()
    pending, TALLY.pending = TALLY.pending, {}

    def settle(item: tuple[str, tuple[str, str, int, str]]) -> None:
        key, (wallet, kind, cents, body) = item
        for attempt in range(6):
            try:
                r = http.post(
                    f"{host}{API}/{wallet}/operation",
                    data=body,
                    headers={**JSON_HEADERS, "Idempotency-Key": key},
                    timeout=30,
                )
            except requests.RequestException:
                gevent.sleep(0.2 * 2**attempt)
                continue
            if r.status_code == 200:
                TALLY.ack(wallet, kind, cents)
                TALLY.resolved += 1
                return
            if r.status_code == 400 and _problem_code(r.content) == "insufficient_funds":
                TALLY.resolved += 1
                return
            if r.status_code < 500:
                break
            gevent.sleep(0.2 * 2**attempt)
        log.error("operation %s on wallet %s: outcome still unknown", key, wallet)
        TALLY.unresolved += 1

    log.info("settling %d operation(s) of unknown outcome by re-sending them with their keys", len(pending))
    Pool(SETUP_CONCURRENCY).map(settle, pending.items())


def on_flush(environment: Environment, msg: Any, **_: Any) -> None:
    """Worker: the master is stopping the test. Stop our users, settle, send our tally once."""
    if TALLY.sent:
        return
    environment.runner.stop()  # type: ignore[union-attr]
    settle_pending((environment.host or "").rstrip("/"))
    TALLY.sent = True
    environment.runner.send_message("wallet_tally", TALLY.summary())  # type: ignore[union-attr]


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
    check(environment, [TALLY.summary()], [])


def check(environment: Environment, tallies: list[dict[str, Any]], missing_workers: list[str]) -> None:
    started = time.monotonic()
    host = (environment.host or "").rstrip("/")
    expected: dict[str, list[int]] = {w: [0, 0, 0, 0] for w in BASELINE}
    totals = {"rejected": 0, "replays": 0, "resolved": 0, "unresolved": 0}
    for t in tallies:
        for wallet, row in t["acked"].items():
            acc = expected.setdefault(wallet, [0, 0, 0, 0])
            for i in range(4):
                acc[i] += row[i]
        for k in totals:
            totals[k] += t[k]
    problems: list[str] = [f"no tally from worker {w} (its operations are not accounted for)" for w in missing_workers]
    if totals["unresolved"]:
        problems.append(f"{totals['unresolved']} operation(s) whose outcome stayed unknown")
    http = _session()

    def verify(wallet: str) -> list[str]:
        deposited, withdrawn, deposits, withdrawals = expected[wallet]
        opening, version0 = BASELINE.get(wallet, (None, None))
        if opening is None or version0 is None:
            return [f"{wallet}: operated on, but not created by this test's setup"]
        want = opening + deposited - withdrawn
        out = []
        r = http.get(f"{host}{API}/{wallet}", timeout=30)
        if r.status_code != 200:
            return [f"{wallet}: GET answered HTTP {r.status_code}"]
        w = r.json()
        if _cents(w["balance"]) != want:
            out.append(f"{wallet}: balance {w['balance']}, expected {_money(want)}")
        # The ledger after the starting version must be exactly the acknowledged operations.
        seq, running, count, dep, wd, after = version0, opening, 0, 0, 0, version0
        while True:
            r = http.get(f"{host}{API}/{wallet}/operations", params={"after": after, "limit": CHECK_PAGE}, timeout=30)
            if r.status_code != 200:
                return [*out, f"{wallet}: GET operations answered HTTP {r.status_code}"]
            page = r.json()
            for op in page["items"]:
                seq += 1
                amount = _cents(op["amount"])
                if op["operation_type"] == "DEPOSIT":
                    running += amount
                    dep += amount
                else:
                    running -= amount
                    wd += amount
                count += 1
                if op["seq"] != seq:
                    return [*out, f"{wallet}: ledger seq {op['seq']} where {seq} was next"]
                if _cents(op["balance_after"]) != running:
                    got = op["balance_after"]
                    return [*out, f"{wallet}: seq {seq} balance_after {got}, running sum {_money(running)}"]
            if page["next_after"] is None:
                break
            after = page["next_after"]
        if count != deposits + withdrawals:
            out.append(f"{wallet}: {count} new ledger entries, {deposits + withdrawals} acknowledged operations")
        if (dep, wd) != (deposited, withdrawn):
            out.append(
                f"{wallet}: ledger deposits/withdrawals {_money(dep)}/{_money(wd)}, "
                f"acknowledged {_money(deposited)}/{_money(withdrawn)}"
            )
        if running != want:
            out.append(f"{wallet}: last balance_after {_money(running)}, expected {_money(want)}")
        if int(w["version"]) != version0 + count:
            out.append(f"{wallet}: version {w['version']}, expected {version0 + count}")
        return out

    try:
        for found in Pool(SETUP_CONCURRENCY).imap_unordered(verify, list(expected)):
            problems.extend(found)
    except Exception as exc:
        problems.append(f"the check could not finish: {exc!r}")
    ops = sum(r[2] + r[3] for r in expected.values())
    result = {
        "ok": not problems,
        "run_id": STATE["run_id"],
        "wallets": len(expected),
        "acknowledged_operations": ops,
        "deposits": sum(r[2] for r in expected.values()),
        "withdrawals": sum(r[3] for r in expected.values()),
        **totals,
        "problems": problems[:50],
        "problem_count": len(problems),
        "check_seconds": round(time.monotonic() - started, 1),
    }
    if problems:
        environment.process_exit_code = 1
        log.error("BALANCE CHECK FAILED (%d problem(s)):\n  %s", len(problems), "\n  ".join(problems[:20]))
    log.info(
        "balance check %s: %d wallet(s), %d acknowledged operation(s), %d withdrawal(s) refused for "
        "insufficient funds, %d replay(s), %d unknown outcome(s) settled; ledger walked in %.1f s",
        "passed" if not problems else "FAILED",
        len(expected),
        ops,
        totals["rejected"],
        totals["replays"],
        totals["resolved"],
        result["check_seconds"],
    )
    if report := os.environ.get("WALLET_LOAD_REPORT"):
        with open(report, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
