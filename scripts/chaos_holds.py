"""Holds and reversals in the chaos run (scripts/chaos.py): some clients reserve money (holds, some expiring within
seconds), capture it (all or part, as a withdrawal or to another wallet of the run), void it or let it expire, try to
capture it again (a second key, two racing captures, after a void or the expiry), and reverse acknowledged money
movements, partly or beyond what remains. Every request carries its own key and is retried with it (chaos_client.send)
until a definitive answer. The Book records what each request was told; chaos_holds_check judges it.

Captures and reversals are ordinary withdrawals, deposits and transfers in the ledger: Book.movements() hands them to
ledgercheck.reconcile with the run's other requests."""

# The random numbers shape the load, they are not secrets (S311).
# ruff: noqa: S311

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from chaos_client import OP_DEADLINE, Op, Stats, answer, cents, send

from ledgercheck import Movement

HOLD_SHARE = 0.30  # of a client's turns: a hold's whole life (2-3 requests)
REVERSAL_SHARE = 0.12  # of a client's turns: one reversal of an acknowledged movement
SHORT_HOLD = 0.35  # of holds: expiring in 1-3 s (the others in 10 min)
NOT_ACTIVE = re.compile(r" is (captured|voided|expired)\b")


@dataclass
class Money:
    """An acknowledged movement a reversal may go back along: `cents` from source to destination (None: the world)."""

    transfer_id: str
    source: int | None
    destination: int | None
    cents: int
    kind: str  # DEPOSIT | WITHDRAW | TRANSFER | CAPTURE | REVERSAL
    reversed_cents: int = 0  # what acknowledged reversals moved back (the client's view; the database decides)


@dataclass
class Step(Op):
    """One request of a hold's life (HOLD, CAPTURE, VOID) or a reversal (REVERSAL). A capture or a reversal moves
    `cents` from source to destination (None: the world); `wallet` is the wallet its key is scoped to."""

    source: int | None = None
    destination: int | None = None
    original: Money | None = None  # what a reversal goes back along
    intent: str = ""  # a capture: first | race | double (after a capture) | after_void | after_expiry
    refusal: str = ""  # why it was refused: insufficient_funds | captured | voided | expired | exceeds
    replayed: bool = False  # acknowledged by a replay: an earlier attempt had applied, its answer was lost


@dataclass
class Hold:
    create: Step
    seconds: int  # expires_in_seconds
    hold_id: str | None = None  # the one the API answered with
    captures: list[Step] = field(default_factory=list)
    voids: list[Step] = field(default_factory=list)


@dataclass
class Book:
    """What the run's clients asked of holds and reversals, and what they were told."""

    wallets: list[str]
    stats: Stats
    holds: list[Hold] = field(default_factory=list)
    reversals: list[Step] = field(default_factory=list)
    reversible: list[Money] = field(default_factory=list)

    def steps(self) -> Iterator[Step]:
        for h in self.holds:
            yield h.create
            yield from h.captures
            yield from h.voids
        yield from self.reversals

    def acknowledged(self, op: Op) -> None:
        """A deposit, withdrawal or transfer of the run: once acknowledged, a reversal may go back along it."""
        if op.outcome == "acked" and op.transfer_id is not None:
            source, destination = {
                "DEPOSIT": (None, op.wallet),
                "WITHDRAW": (op.wallet, None),
                "TRANSFER": (op.wallet, op.target),
            }[op.kind]
            self.reversible.append(Money(op.transfer_id, source, destination, op.cents, op.kind))

    def movements(self) -> list[Movement]:
        """The captures and reversals, as ledgercheck sees every request that may move money."""
        out = []
        for s in self.steps():
            if s.kind in ("CAPTURE", "REVERSAL"):
                outcome = s.outcome if s.outcome in ("acked", "refused") else "unknown"
                source = self.wallets[s.source] if s.source is not None else None
                destination = self.wallets[s.destination] if s.destination is not None else None
                out.append(Movement(s.key, source, destination, s.amount, outcome, s.transfer_id))  # type: ignore[arg-type]
        return out

    # --- the clients' turns ---------------------------------------------------------------------------------

    async def hold_life(self, client: httpx.AsyncClient, name: str, stopping: asyncio.Event) -> None:
        """A hold, then one fate: expire (and perhaps a late capture), void (and perhaps a capture after it), two
        racing captures, or one capture (and perhaps a second one with a new key)."""
        wallet = random.randrange(len(self.wallets))
        short = random.random() < SHORT_HOLD
        h = Hold(Step(f"{name}-hold", wallet, "HOLD", random.randint(1, 3000)), random.randint(1, 3) if short else 600)
        self.holds.append(h)
        body = {"amount": f"{h.create.amount:.2f}", "expires_in_seconds": h.seconds}
        r = await self._send(client, h.create, f"/api/v1/wallets/{self.wallets[wallet]}/holds", body)
        if r is not None:
            doc = answer(r)
            if r.status_code == 201:
                if doc.get("wallet_id") != self.wallets[wallet] or cents(doc.get("amount", "0")) != h.create.cents:
                    h.create.outcome, h.create.note = "failed", f"201 for another hold: {doc}"
                else:
                    h.create.outcome, h.hold_id = "acked", doc["id"]
            else:
                self._refused_or_failed(h.create, r, doc, {(400, "insufficient_funds")})
        if h.hold_id is None or stopping.is_set():
            return
        fate = random.random()
        if short and fate < 0.5:
            await asyncio.sleep(h.seconds + 0.5)
            if random.random() < 0.5 and not stopping.is_set():
                await self.capture(client, h, "after_expiry")
        elif fate < 0.2:
            await self.void(client, h)
            if random.random() < 0.3 and not stopping.is_set():
                await self.capture(client, h, "after_void")
        elif fate < 0.35:
            await asyncio.gather(self.capture(client, h, "race"), self.capture(client, h, "race"))
        else:
            await self.capture(client, h, "first")
            if random.random() < 0.3 and not stopping.is_set():
                await self.capture(client, h, "double")

    async def capture(self, client: httpx.AsyncClient, h: Hold, intent: str) -> None:
        """All or part of the hold, as a withdrawal or to another wallet of the run."""
        part = h.create.cents if random.random() < 0.4 else random.randint(1, h.create.cents)
        others = [w for w in range(len(self.wallets)) if w != h.create.wallet]
        to = random.choice(others) if random.random() < 0.4 else None
        key = f"{h.create.key}-capture{len(h.captures)}"
        s = Step(key, h.create.wallet, "CAPTURE", part, to, source=h.create.wallet, destination=to, intent=intent)
        h.captures.append(s)
        body: dict[str, Any] = {"amount": f"{s.amount:.2f}"} | (
            {"to_wallet_id": self.wallets[to]} if to is not None else {}
        )
        r = await self._send(client, s, f"/api/v1/holds/{h.hold_id}/capture", body)
        if r is None:
            return
        doc = answer(r)
        if r.status_code == 200:
            told = (doc.get("status"), cents(doc.get("captured_amount") or "0"), doc.get("to_wallet_id"))
            if told != ("captured", part, self.wallets[to] if to is not None else None) or not doc.get("transfer_id"):
                s.outcome, s.note = "failed", f"200 for another capture: {doc}"
            else:
                s.outcome, s.transfer_id = "acked", doc["transfer_id"]
                self.reversible.append(Money(doc["transfer_id"], h.create.wallet, to, part, "CAPTURE"))
        else:
            self._refused_or_failed(s, r, doc, {(409, "hold_not_active")})

    async def void(self, client: httpx.AsyncClient, h: Hold) -> None:
        s = Step(f"{h.create.key}-void{len(h.voids)}", h.create.wallet, "VOID", 0)
        h.voids.append(s)
        r = await self._send(client, s, f"/api/v1/holds/{h.hold_id}/void", {})
        if r is None:
            return
        doc = answer(r)
        if r.status_code == 200:
            if doc.get("status") != "voided":
                s.outcome, s.note = "failed", f"200 for another void: {doc}"
            else:
                s.outcome = "acked"
        else:
            self._refused_or_failed(s, r, doc, {(409, "hold_not_active")})

    async def reverse(self, client: httpx.AsyncClient, name: str) -> bool:
        """Part of an acknowledged movement back (now and then all of it, which may exceed what remains); False
        when nothing is acknowledged yet."""
        if not self.reversible:
            return False
        m = random.choice(self.reversible)
        rest = m.cents - m.reversed_cents
        part = m.cents if random.random() < 0.2 or rest <= 0 else random.randint(1, rest)
        owner = m.destination if m.destination is not None else m.source
        assert owner is not None
        s = Step(f"{name}-reversal", owner, "REVERSAL", part, source=m.destination, destination=m.source, original=m)
        self.reversals.append(s)
        r = await self._send(client, s, f"/api/v1/transfers/{m.transfer_id}/reversal", {"amount": f"{s.amount:.2f}"})
        if r is None:
            return True
        doc = answer(r)
        if r.status_code == 201:
            ends = tuple(self.wallets[w] if w is not None else None for w in (s.source, s.destination))
            told = (
                doc.get("reverses"),
                cents(doc.get("amount", "0")),
                doc.get("from_wallet_id"),
                doc.get("to_wallet_id"),
            )
            if told != (m.transfer_id, part, *ends):
                s.outcome, s.note = "failed", f"201 for another reversal: {doc}"
            else:
                s.outcome, s.transfer_id = "acked", doc["id"]
                m.reversed_cents += part
                self.reversible.append(Money(doc["id"], s.source, s.destination, part, "REVERSAL"))
        else:
            self._refused_or_failed(s, r, doc, {(422, "reversal_exceeds_original"), (400, "insufficient_funds")})
        return True

    async def _send(self, client: httpx.AsyncClient, s: Step, path: str, body: dict[str, Any]) -> httpx.Response | None:
        r = await send(client, s, path, body, self.stats, time.monotonic() + OP_DEADLINE)
        if r is None:
            s.note = "no definitive answer in time"
        else:
            s.replayed = r.headers.get("idempotent-replayed") == "true"
        return r

    @staticmethod
    def _refused_or_failed(s: Step, r: httpx.Response, doc: dict[str, Any], refusals: set[tuple[int, str]]) -> None:
        """A refusal the request may meet (nothing of it applied), or an unexpected answer."""
        code = doc.get("code", "")
        if (r.status_code, code) not in refusals:
            s.outcome, s.note = "failed", f"{r.status_code} {code}: {doc.get('detail')}"
            return
        s.outcome = "refused"
        if code == "hold_not_active":
            found = NOT_ACTIVE.search(doc.get("detail") or "")
            s.refusal = found.group(1) if found else "not active"
        else:
            s.refusal = "exceeds" if code == "reversal_exceeds_original" else code
