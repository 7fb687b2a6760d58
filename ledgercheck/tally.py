"""The aggregate form, for long load runs (Locust): memory per wallet, not per request. Each process tallies, per
wallet, the net effect and the number of entries its acknowledged requests should have left; the tallies travel
as plain JSON-able dicts and merge by addition. At the end every wallet's new entries are walked (core.walk) and
compared with the merged tally and the wallet's stored state.

Transfers are covered on both sides by the tally (the source expects -amount and one entry, the destination
+amount and one entry). That every transfer's two legs also pair up with each other is checked in constant
memory by a fingerprint: each leg adds h(transfer) * its effect and +-g(transfer, the two wallets), so the legs
of a balanced pair cancel, and the sum over all the wallets is 0 exactly when (but for a chance of about 2^-127
per check) every transfer between them has both legs, each naming the other, moving the same amount."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledgercheck.core import Entry, Snapshot, walk

FINGERPRINT_MODULUS = 2**127 - 1  # a prime: the field in which the legs' contributions sum


class Tally:
    """Per wallet: the net effect of the acknowledged requests, and the ledger entries they should have left."""

    def __init__(self) -> None:
        self.net: dict[str, Decimal] = {}
        self.entries: dict[str, int] = {}

    def record(self, source: str | None, destination: str | None, amount: Decimal) -> None:
        """An acknowledged request: `amount` from source to destination (None: the outside world)."""
        for wallet, effect in ((source, -amount), (destination, amount)):
            if wallet is not None:
                self.net[wallet] = self.net.get(wallet, Decimal(0)) + effect
                self.entries[wallet] = self.entries.get(wallet, 0) + 1

    def to_wire(self) -> dict[str, list[Any]]:
        """{wallet: [net as a decimal string, entry count]}: survives JSON and Locust's msgpack."""
        return {w: [str(self.net[w]), self.entries[w]] for w in self.net}

    def merge(self, wire: Mapping[str, Sequence[Any]]) -> None:
        for wallet, (net, count) in wire.items():
            self.net[wallet] = self.net.get(wallet, Decimal(0)) + Decimal(net)
            self.entries[wallet] = self.entries.get(wallet, 0) + int(count)

    @property
    def acknowledged_entries(self) -> int:
        return sum(self.entries.values())


def check_wallet(
    wallet: str, opening: Snapshot, closing: Snapshot, entries: Sequence[Entry], tally: Tally
) -> tuple[list[str], int]:
    """One wallet: its entries after the opening (walked), the tally and its stored state must agree.
    Returns the problems and the wallet's share of the transfer fingerprint (see fingerprint_ok)."""
    walked = walk(opening.balance, opening.version, entries)
    problems = list(walked.problems)
    net, count = tally.net.get(wallet, Decimal(0)), tally.entries.get(wallet, 0)
    moved = sum(walked.deltas, Decimal(0))
    if len(entries) != count:
        problems.append(f"{wallet}: {len(entries)} new ledger entries, {count} acknowledged")
    if moved != net:
        problems.append(f"{wallet}: its new entries move it by {moved}, the acknowledged requests by {net}")
    if closing != walked.last:
        problems.append(
            f"{wallet}: balance {closing.balance}, version {closing.version}; its ledger ends at "
            f"balance_after {walked.last.balance}, seq {walked.last.version}"
        )
    elif closing.balance != opening.balance + net:
        problems.append(f"{wallet}: balance {closing.balance}, expected {opening.balance + net}")
    return problems, fingerprint(entries, walked.deltas)


def fingerprint(entries: Sequence[Entry], deltas: Sequence[Decimal]) -> int:
    """The legs' share of the transfer fingerprint: legs without a counterparty (deposits, withdrawals) add 0."""
    total = 0
    for e, delta in zip(entries, deltas, strict=True):
        if e.counterparty is None:
            continue
        low, high = sorted((e.wallet_id, e.counterparty))
        side = 1 if e.wallet_id == low else -1  # the pair's two legs carry opposite signs
        total += _hash("amount", e.transfer_id) * _exact(delta) + side * _hash("pair", e.transfer_id, low, high)
    return total % FINGERPRINT_MODULUS


def fingerprint_ok(total: int) -> bool:
    """Sum the wallets' shares (over every wallet the transfers touch): 0 when every transfer is balanced."""
    return total % FINGERPRINT_MODULUS == 0


def _hash(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big")


def _exact(amount: Decimal) -> int:
    """The decimal as an element of the field: n / d as n * d^-1, so sums of decimals map to sums there."""
    n, d = amount.as_integer_ratio()
    return n * pow(d, -1, FINGERPRINT_MODULUS) % FINGERPRINT_MODULUS
