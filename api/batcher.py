"""Live batching of a hot wallet's operations (the technique behind TigerBeetle's throughput).

At most one database call is in flight per wallet in this process. Operations for that wallet that
arrive meanwhile queue up and go together, in arrival order, as the next wallet.apply_operations
call; each gets its own row back, so one failing withdrawal does not fail its neighbours. A lone
operation goes at once. The rules stay in the database: this only decides which calls share a
transaction. Every operation carries its idempotency key, so a retried batch cannot apply twice."""

import asyncio
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from api.db import Database
from api.errors import unavailable
from api.metrics import BATCH_QUEUED, BATCH_SIZE


@dataclass
class _Pending:
    operation_type: str
    amount: Decimal
    idempotency_key: str
    result: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher:
    def __init__(self, db: Database, max_batch: int, max_queue: int, retry_after: int) -> None:
        self.db = db
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.retry_after = retry_after
        self._queues: dict[UUID, deque[_Pending]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def apply(self, wallet_id: UUID, operation_type: str, amount: Decimal, idempotency_key: str) -> Any:
        """The operation's result row, exactly as wallet.apply_operations returned it."""
        pending = _Pending(operation_type, amount, idempotency_key)
        queue = self._queues.get(wallet_id)
        if queue is None:
            queue = self._queues[wallet_id] = deque()
            task = asyncio.create_task(self._drain(wallet_id, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif len(queue) >= self.max_queue:
            raise unavailable(f"wallet {wallet_id} has {len(queue)} operations waiting; try again", self.retry_after)
        queue.append(pending)
        BATCH_QUEUED.inc()
        # The drain task owns the call: a client that goes away cancels only its own wait.
        try:
            return await asyncio.shield(pending.result)
        except asyncio.CancelledError:
            # Nobody will read the result now: keep asyncio from warning about an unread error.
            pending.result.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise

    async def _drain(self, wallet_id: UUID, queue: deque[_Pending]) -> None:
        try:
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), self.max_batch))]
                BATCH_QUEUED.dec(len(batch))
                BATCH_SIZE.observe(len(batch))
                try:
                    rows = await self.db.apply_operations(
                        wallet_id,
                        [p.operation_type for p in batch],
                        [p.amount for p in batch],
                        [p.idempotency_key for p in batch],
                    )
                except BaseException as exc:
                    for p in batch:
                        if not p.result.done():
                            p.result.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for p, row in zip(batch, rows, strict=True):
                    if not p.result.done():
                        p.result.set_result(row)
        finally:
            del self._queues[wallet_id]
            for p in queue:  # only if this task was cancelled (shutdown)
                if not p.result.done():
                    p.result.set_exception(unavailable("the service is shutting down", self.retry_after))

    async def close(self) -> None:
        """Lets in-flight batches finish (their results are committed; their clients get them)."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
