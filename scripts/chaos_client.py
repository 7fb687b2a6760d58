"""The chaos run's clients, shared by scripts/chaos.py (deposits, withdrawals, transfers) and scripts/chaos_holds.py
(holds and reversals): a request with its idempotency key and what it was told (Op), the run's counters (Stats),
and send(): one request, retried with the same key and body until it gets a definitive answer or its deadline."""

# The random numbers shape the retries' backoff, they are not secrets (S311).
# ruff: noqa: S311

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

# Seconds per HTTP attempt. Shorter than the time the API may keep retrying one call (WALLET_RETRY_MAX_SECONDS,
# 8 s), so a timed-out attempt can still be alive in the API when its retry gets an answer.
CLIENT_TIMEOUT = float(os.environ.get("CHAOS_CLIENT_TIMEOUT", "5"))
OP_DEADLINE = 60.0  # seconds one operation may spend retrying before it counts as pending


@dataclass
class Op:
    key: str
    wallet: int  # the wallet of a deposit or withdrawal; the source of a transfer (the wallet its key is scoped to)
    kind: str  # DEPOSIT | WITHDRAW | TRANSFER (chaos.py); HOLD | CAPTURE | VOID | REVERSAL (chaos_holds.py)
    cents: int
    target: int | None = None  # the destination of a transfer
    attempts: int = 0
    outcome: str = "pending"  # acked | refused | failed | pending
    transfer_id: str | None = None  # the one the API answered with (a deposit or withdrawal is a transfer too)
    note: str = ""
    history: list[str] = field(default_factory=list)  # each attempt: when it started and ended (UTC), and how

    @property
    def amount(self) -> Decimal:
        return Decimal(self.cents) / 100


@dataclass
class Stats:
    ops: list[Op] = field(default_factory=list)
    retry_causes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    recovery: dict[str, list[float]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    server_retries: int = 0


def clock() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


async def send(
    client: httpx.AsyncClient, op: Op, path: str, body: dict[str, Any], stats: Stats, until: float
) -> httpx.Response | None:
    """POSTs with op.key until a definitive answer (anything but a timeout, a connection error or a 5xx) or
    `until`; retries carry the same key and body, after a bounded, jittered backoff."""
    while time.monotonic() < until:
        op.attempts += 1
        pause = min(1.0, 0.05 * 2 ** min(op.attempts, 6)) * random.random()
        sent = clock()
        try:
            r = await client.post(path, json=body, headers={"Idempotency-Key": op.key})
        except httpx.TimeoutException as exc:
            stats.retry_causes[f"timeout ({type(exc).__name__})"] += 1
            op.history.append(f"{sent}-{clock()} {type(exc).__name__}")
        except httpx.TransportError as exc:
            stats.retry_causes[f"connection ({type(exc).__name__})"] += 1
            op.history.append(f"{sent}-{clock()} {type(exc).__name__}")
        else:
            op.history.append(f"{sent}-{clock()} {r.status_code}")
            if r.status_code < 500:
                return r
            stats.retry_causes[f"HTTP {r.status_code}"] += 1
            if r.headers.get("retry-after", "").isdigit():
                pause = min(2.0, float(r.headers["retry-after"])) * (0.5 + random.random() / 2)
        await asyncio.sleep(min(pause, max(0.0, until - time.monotonic())))
    return None


def answer(r: httpx.Response) -> dict[str, Any]:
    """The JSON body of an answer (a problem+json too); {} for anything else."""
    doc: dict[str, Any] = r.json() if r.headers.get("content-type", "").endswith("json") else {}
    return doc
