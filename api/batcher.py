"""Live batching of hot wallets (the technique behind TigerBeetle's throughput).

Requests (deposits, withdrawals, transfers, and a non-atomic bulk request's elements, which stay
together and in order as one item; new holds, in a batcher of their own) queue per group and go
together, in arrival order, up to 1,000 elements, as the next wallet.post_transfers (wallet.create_holds) call of their
group; at most one call per group is in flight in this process. A request joins the group of any of
its wallets that is already busy there (queued or in flight), so a hot wallet batches whichever side
of a transfer it is on: ten thousand payers paying one merchant share the merchant's calls. A request
whose wallets are all quiet starts a group of its own and goes at once: no added latency. The rules
stay in the database: this only decides which requests share a transaction (whose wallets the
database locks in id order, so calls never deadlock). Each request gets its own row back, so one
refused withdrawal does not fail its neighbours, and every request carries its idempotency key, so a
retried batch cannot apply twice.

Sharing a call never changes an answer: if a batched call fails as a whole for any reason other than
the database being unavailable (which every request would have met alone too), nothing of it was
written, and each request is applied again on its own, so each gets the answer it would have had
alone and nothing about one request can fail its neighbours."""

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from api.db import Database
from api.domain import BulkPosting, HoldItem, TransferRequest, Unavailable
from api.metrics import BATCH_QUEUED, BATCH_SIZE

# What a batcher queues: one request, or (the Batcher) a bulk request's elements, which go together.
Posting = TransferRequest | BulkPosting
R = TypeVar("R", Posting, HoldItem)


@dataclass
class _Pending(Generic[R]):
    request: R
    result: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _LiveBatcher(Generic[R]):
    """The queues, groups and settling; subclasses say which wallets a request touches and which call
    applies a batch."""

    max_elements = 1000  # the most one call of the batch functions takes

    def __init__(self, db: Database, max_batch: int, max_queue: int) -> None:
        self.db = db
        self.max_batch = max_batch
        self.max_queue = max_queue
        self._queues: dict[UUID, deque[_Pending[R]]] = {}  # by group: the wallet that started it
        self._busy: dict[UUID, tuple[UUID, int]] = {}  # wallet -> (its group, requests of it there)
        self._tasks: set[asyncio.Task[None]] = set()

    def _wallets(self, request: R) -> tuple[UUID, ...]:
        """The wallets the request touches, the one it is grouped on by default last."""
        raise NotImplementedError

    def _size(self, request: R) -> int:
        """How many elements of the batch function the request takes."""
        return 1

    async def _call(self, group: UUID, requests: list[R]) -> list[Any]:
        """One result per request, in order."""
        raise NotImplementedError

    async def apply(self, request: R) -> Any:
        """The request's result row, exactly as the batch function returned it."""
        group = self._group_of(request)
        queue = self._queues.get(group)
        if queue is None:
            queue = self._queues[group] = deque()
            task = asyncio.create_task(self._drain(group, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif len(queue) >= self.max_queue:
            raise Unavailable(f"wallet {group} has {len(queue)} requests waiting; try again")
        pending = _Pending(request)
        queue.append(pending)
        self._join(group, request)
        BATCH_QUEUED.inc()
        # The drain task owns the call: a client that goes away cancels only its own wait.
        try:
            return await asyncio.shield(pending.result)
        except asyncio.CancelledError:
            # Nobody will read the result now: keep asyncio from warning about an unread error.
            pending.result.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise

    def _group_of(self, request: R) -> UUID:
        """The busy group of one of the request's wallets (the destination's first), else a new one."""
        wallets = self._wallets(request)
        for wallet_id in wallets:
            busy = self._busy.get(wallet_id)
            if busy is not None and busy[0] in self._queues:
                return busy[0]
        return wallets[-1]

    def _join(self, group: UUID, request: R) -> None:
        for wallet_id in self._wallets(request):
            busy = self._busy.get(wallet_id)
            if busy is None:
                self._busy[wallet_id] = (group, 1)
            elif busy[0] == group:
                self._busy[wallet_id] = (group, busy[1] + 1)

    def _leave(self, group: UUID, request: R) -> None:
        for wallet_id in self._wallets(request):
            busy = self._busy.get(wallet_id)
            if busy is not None and busy[0] == group:
                if busy[1] <= 1:
                    del self._busy[wallet_id]
                else:
                    self._busy[wallet_id] = (group, busy[1] - 1)

    async def _drain(self, group: UUID, queue: deque[_Pending[R]]) -> None:
        try:
            while queue:
                batch = [queue.popleft()]
                size = self._size(batch[0].request)
                while (
                    queue and len(batch) < self.max_batch and size + self._size(queue[0].request) <= self.max_elements
                ):
                    size += self._size(queue[0].request)
                    batch.append(queue.popleft())
                BATCH_QUEUED.dec(len(batch))
                BATCH_SIZE.observe(size)
                try:
                    await self._settle(group, batch)
                finally:
                    for p in batch:
                        self._leave(group, p.request)
        finally:
            del self._queues[group]
            for p in queue:  # only if this task was cancelled (shutdown)
                self._leave(group, p.request)
                if not p.result.done():
                    p.result.set_exception(Unavailable("the service is shutting down"))

    async def _settle(self, group: UUID, batch: list[_Pending[R]]) -> None:
        try:
            rows = await self._call(group, [p.request for p in batch])
        except BaseException as exc:
            if len(batch) > 1 and isinstance(exc, Exception) and not isinstance(exc, Unavailable):
                for p in batch:  # each on its own, in order, each with its own outcome
                    await self._settle(group, [p])
                return
            for p in batch:
                if not p.result.done():
                    p.result.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for p, row in zip(batch, rows, strict=True):
            if not p.result.done():
                p.result.set_result(row)

    async def close(self) -> None:
        """Lets in-flight batches finish (their results are committed; their clients get them)."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)


class Batcher(_LiveBatcher[Posting]):
    """Deposits, withdrawals and transfers, as wallet.post_transfers calls: a transfer joins the busy
        group of either of its wallets, else starts one on its source (a deposit: its wallet). A bulk
        request's elements go as one item: the busy group of any of their wallets, else the first element's
    source (a deposit: its wallet)."""

    def _wallets(self, request: Posting) -> tuple[UUID, ...]:
        if isinstance(request, BulkPosting):
            return request.wallets
        return request.wallets()  # the destination first, the source (the owner) last

    def _size(self, request: Posting) -> int:
        return len(request.transfers) if isinstance(request, BulkPosting) else 1

    async def _call(self, group: UUID, requests: list[Posting]) -> list[Any]:
        flat: list[TransferRequest] = []
        for request in requests:
            flat.extend(request.transfers if isinstance(request, BulkPosting) else (request,))
        rows = await self.db.post_transfers(group, flat)
        results: list[Any] = []
        at = 0
        for request in requests:
            if isinstance(request, BulkPosting):
                results.append(rows[at : at + len(request.transfers)])
                at += len(request.transfers)
            else:
                results.append(rows[at])
                at += 1
        return results


class HoldBatcher(_LiveBatcher[HoldItem]):
    """New holds, as wallet.create_holds calls: one group per wallet."""

    def _wallets(self, request: HoldItem) -> tuple[UUID, ...]:
        return (request.wallet_id,)

    async def _call(self, group: UUID, requests: list[HoldItem]) -> list[Any]:
        return await self.db.create_holds(group, [r.request for r in requests])
