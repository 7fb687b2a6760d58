"""Live batching of a hot wallet's operations (the technique behind TigerBeetle's throughput).

At most one database call is in flight per wallet in this process. Operations for that wallet that
arrive meanwhile queue up and go together, in arrival order, as the next wallet.apply_operations
call; each gets its own row back, so one failing withdrawal does not fail its neighbours. A lone
operation goes at once. The rules stay in the database: this only decides which calls share a
transaction. Every operation carries its idempotency key, so a retried batch cannot apply twice.

Sharing a call never changes an answer: if a batched call fails as a whole for any reason other than
the database being unavailable (which every element would have met alone too), nothing of it was
written, and each element is applied again on its own, so each gets the answer it would have had
alone and nothing about one element can fail its neighbours."""

import asyncio
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from api.db import Database
from api.errors import UNAVAILABLE, ProblemError, unavailable
from api.metrics import BATCH_QUEUED, BATCH_SIZE


@dataclass
class _Pending:
    operation_type: str
    amount: Decimal
    idempotency_key: str
    ephemeral_key: bool
    result: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher:
    def __init__(self, db: Database, max_batch: int, max_queue: int, retry_after: int) -> None:
        self.db = db
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.retry_after = retry_after
        self._queues: dict[UUID, deque[_Pending]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def apply(
        self, wallet_id: UUID, operation_type: str, amount: Decimal, idempotency_key: str, ephemeral_key: bool
    ) -> Any:
        """The operation's result row, exactly as wallet.apply_operations returned it."""
        pending = _Pending(operation_type, amount, idempotency_key, ephemeral_key)
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
                    rows = await self._call(wallet_id, batch)
                except BaseException as exc:
                    if len(batch) > 1 and isinstance(exc, Exception) and not _unavailable(exc):
                        await self._one_by_one(wallet_id, batch)
                        continue
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

    async def _call(self, wallet_id: UUID, batch: list[_Pending]) -> list[Any]:
        return await self.db.apply_operations(
            wallet_id,
            [p.operation_type for p in batch],
            [p.amount for p in batch],
            [p.idempotency_key for p in batch],
            [p.ephemeral_key for p in batch],
        )

    async def _one_by_one(self, wallet_id: UUID, batch: list[_Pending]) -> None:
        """Each element in its own call, in order, each with its own outcome."""
        for p in batch:
            try:
                (row,) = await self._call(wallet_id, [p])
            except Exception as exc:
                if not p.result.done():
                    p.result.set_exception(exc)
                continue
            if not p.result.done():
                p.result.set_result(row)

    async def close(self) -> None:
        """Lets in-flight batches finish (their results are committed; their clients get them)."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)


def _unavailable(exc: BaseException) -> bool:
    """The database could not be reached (after the retries): alone, each element would have met it too."""
    return isinstance(exc, ProblemError) and exc.kind == UNAVAILABLE
