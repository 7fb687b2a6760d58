"""Two-step payments (holds) under load: the `twostep` scenario of locustfile.py, which imports this module (it
builds on locustfile's WalletUser and SEEN, so Locust loads it only through locustfile.py).

A payment authorizes a hold on one of WALLET_LOAD_WALLETS payer wallets, then mostly captures it (all or part; to
the one payee wallet, or as a withdrawal) or voids it; a few are left active. Now and then a capture or void is
replayed with its Idempotency-Key (must answer replayed, with the same outcome), a closed hold is captured or
voided again with a new key (must answer 409 hold_not_active: a refusal, not a failure), a capture is reversed in
part, then beyond what remains (422 reversal_exceeds_original). Some holds get 1-3 s to live and are looked at once
they are past it: GET says expired, a capture or a void is refused with 409. Deposits top the payers up, at once
when a hold is refused for insufficient funds (400: a correct answer). Any other answer is a Locust failure.
What each answer means, and the check at the end: twostep_outcomes.py.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from locust import task
from locustfile import API, JSON_HEADERS, MAX_CENTS, RNG, SEEN, WalletUser, _json, _money
from twostep_outcomes import (
    PENDING,
    Call,
    captured,
    closed_again,
    created,
    deposited,
    read_answer,
    replayed,
    reversed_,
    voided,
)

HOLDS = "/api/v1/holds"
TRANSFERS = "/api/v1/transfers"
GROUPS = ("payer", "payee")  # wallet groups of their own: another scenario's requests never land on them


def _money_field(cents: int) -> str:
    """An amount as a JSON string ("1.23") or, as often, a JSON number written out exactly (1.23)."""
    return f'"{_money(cents)}"' if RNG.random() < 0.5 else _money(cents)


class TwoStepUser(WalletUser):
    """Payments in two steps: authorize (a hold on a payer), then capture, void, or let it expire."""

    wallet_groups = GROUPS

    def on_start(self) -> None:
        super().on_start()
        self.payee = SEEN.wallets.get("payee", [""])[0]
        self.expiring: list[tuple[float, str, str, int]] = []  # (expires_at, hold, payer, cents): left to expire

    @task(10)
    def pay(self) -> None:
        self.look_at_expired()
        payer = RNG.choice(self.ids)
        hold = self.authorize(payer, RNG.randint(1, MAX_CENTS))
        if hold is None:
            return
        roll = RNG.random()
        if roll < 0.65:
            self.capture(payer, hold)
        elif roll < 0.95:
            self.void(payer, hold)
        # else left active for its hour: it counts against the available balance, at the end too

    @task(2)
    def authorize_briefly(self) -> None:
        cents = RNG.randint(1, 100)
        hold = self.authorize(payer := RNG.choice(self.ids), cents, seconds=RNG.randint(1, 3))
        if hold is not None:
            self.expiring.append((datetime.fromisoformat(hold["expires_at"]).timestamp(), hold["id"], payer, cents))

    @task(2)
    def top_up(self) -> None:
        self.deposit(RNG.choice(self.ids), RNG.randint(MAX_CENTS, 3 * MAX_CENTS))

    def post(self, call: Call, key: str | None = None, replay: bool = False) -> dict[str, Any] | None:
        """Sends `call` with `key` (default a new one); its answer says what happened. A replay's original outcome
        is known: it is never pending. Returns the body of an expected 2xx answer."""
        key = key or SEEN.next_key()
        if not replay:
            PENDING[key] = call
        headers = {**JSON_HEADERS, "Idempotency-Key": key}
        with self.client.post(call.path, data=call.body, headers=headers, name=call.name, catch_response=True) as r:
            if r.status_code == 0 or r.status_code >= 500:  # outcome unknown: stays pending, settled at the end
                r.failure(f"HTTP {r.status_code} {_json(r.content).get('code') or r.error}")
                return None
            PENDING.pop(key, None)
            if why := read_answer(call, key, r.status_code, r.content):
                r.failure(why)
                return None
            r.success()
            return _json(r.content) if r.status_code < 300 else None

    def authorize(self, payer: str, cents: int, seconds: int | None = None) -> dict[str, Any] | None:
        expiry = "" if seconds is None else f',"{RNG.choice(("expires_in_seconds", "expiresInSeconds"))}":{seconds}'
        body = f'{{"amount":{_money_field(cents)}{expiry}}}'
        name = f"{API}/[id]/holds" + (" 1-3 s" if seconds else "")
        hold = self.post(Call(f"{API}/{payer}/holds", body, name, created(payer, cents)))
        if hold is None and not seconds:  # refused (or failed): the payer may be short of money
            self.deposit(payer, RNG.randint(MAX_CENTS, 2 * MAX_CENTS))
        return hold

    def capture(self, payer: str, hold: dict[str, Any]) -> None:
        hold_id, cents = str(hold["id"]), int(Decimal(hold["amount"]) * 100)
        take = cents if RNG.random() < 0.5 else RNG.randint(1, cents)
        to = self.payee if RNG.random() < 0.6 else None
        fields = [f'"amount":{_money_field(take)}'] if take != cents or RNG.random() < 0.5 else []
        if to:
            fields.append(f'"{RNG.choice(("to_wallet_id", "toWalletId"))}":"{to}"')
        if RNG.random() < 0.2:
            fields.append(f'"metadata":{{"order":{RNG.randint(1, 10**6)}}}')
        body = "{" + ",".join(fields) + "}"
        call = Call(f"{HOLDS}/{hold_id}/capture", body, f"{HOLDS}/[id]/capture", captured(payer, hold_id, take, to))
        first = self.close(call, payer, hold_id, "captured")
        if first is not None and RNG.random() < 0.25 and take > 1:
            self.reverse(str(first["transfer_id"]), to, payer, take)

    def void(self, payer: str, hold: dict[str, Any]) -> None:
        hold_id = str(hold["id"])
        call = Call(f"{HOLDS}/{hold_id}/void", RNG.choice(("", "{}")), f"{HOLDS}/[id]/void", voided(payer, hold_id))
        self.close(call, payer, hold_id, "voided")

    def close(self, call: Call, payer: str, hold_id: str, status: str) -> dict[str, Any] | None:
        """A capture or void; then now and then the same again with its key (replayed), or a capture or void with
        a new key (refused: the hold is `status` now). Returns the answer when it closed the hold."""
        key = SEEN.next_key()
        first = self.post(call, key)
        if first is None:
            return None
        roll = RNG.random()
        if roll < 0.15:
            self.post(Call(call.path, call.body, f"{call.name} replay", replayed(first, call.answer)), key, replay=True)
        elif roll < 0.30:
            self.close_again(payer, hold_id, status)
        return first

    def close_again(self, payer: str, hold_id: str, status: str, cents: int = 1) -> None:
        """A capture or a void, with a new key, of a hold that is no longer active: 409 hold_not_active."""
        name = f"{HOLDS}/[id]/%s " + ("expired" if status == "expired" else "again")
        if RNG.random() < 0.5:
            answer = captured(payer, hold_id, cents, None, refused_as=status)
            self.post(
                Call(f"{HOLDS}/{hold_id}/capture", f'{{"amount":{_money_field(cents)}}}', name % "capture", answer)
            )
        else:
            self.post(Call(f"{HOLDS}/{hold_id}/void", "", name % "void", voided(payer, hold_id, refused_as=status)))

    def reverse(self, transfer_id: str, payee: str | None, payer: str, take: int) -> None:
        """Part of a capture back to its payer (from the payee, or from the world for a withdrawal); sometimes then
        more than remains, which must be refused."""
        part = RNG.randint(1, take - 1)
        path, name = f"{TRANSFERS}/{transfer_id}/reversal", f"{TRANSFERS}/[id]/reversal"
        if self.post(Call(path, f'{{"amount":{_money_field(part)}}}', name, reversed_(payee, payer, part, False))):
            if RNG.random() < 0.4:
                answer = reversed_(payee, payer, take, True)
                self.post(Call(path, f'{{"amount":{_money_field(take)}}}', f"{name} beyond", answer))

    def deposit(self, wallet: str, cents: int) -> None:
        body = f'{{"operation_type":"DEPOSIT","amount":{_money_field(cents)}}}'
        self.post(
            Call(f"{API}/{wallet}/operation", body, f"{API}/[id]/operation DEPOSIT top-up", deposited(wallet, cents))
        )

    def look_at_expired(self) -> None:
        """Holds left to expire, once past their expires_at (and a margin): expired, whichever way one looks."""
        now = time.time()
        for item in [e for e in self.expiring if e[0] + 0.5 < now][:2]:
            self.expiring.remove(item)
            _, hold_id, payer, cents = item
            if RNG.random() < 0.5:
                self.close_again(payer, hold_id, "expired", cents)
                continue
            with self.client.get(f"{HOLDS}/{hold_id}", name=f"{HOLDS}/[id] expired", catch_response=True) as r:
                status = _json(r.content).get("status")
                if r.status_code == 200 and status == "expired":
                    closed_again(payer, hold_id, "expired")
                else:
                    r.failure(f"HTTP {r.status_code}: {status or r.error} past its expires_at")
