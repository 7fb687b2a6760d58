"""Shared reads of a hot wallet: live batching for GETs.

At most one read of a wallet is in flight in this process. A GET of the wallet that arrives while one
is in flight does not share that read (its snapshot may be older than the GET: a write acknowledged
just before the GET could be missing from it); it waits for the NEXT read, which starts when the
current one ends, and every GET that arrived meanwhile shares that next read. So each GET sees every
write acknowledged before it arrived (read-your-writes), and a wallet read by many clients at once
costs one database call per round instead of one per request. A quiet wallet's GET goes at once.

An outcome is shared whole: the row, or the error (404 for a wallet that does not exist, 503 when the
database is unavailable), which each GET would have met alone as well. A client that goes away stops
waiting; the read goes on for the others."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from api.domain import Unavailable


class SharedReads:
    def __init__(self, read: Callable[[UUID], Awaitable[Any]]) -> None:
        self._read = read
        self._in_flight: dict[UUID, asyncio.Future[Any]] = {}
        self._next: dict[UUID, asyncio.Future[Any]] = {}  # the read after the one in flight
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: UUID) -> Any:
        outcome = self._next.get(key)
        if outcome is None:
            if key in self._in_flight:
                outcome = self._next[key] = asyncio.get_running_loop().create_future()
            else:
                outcome = self._start(key, asyncio.get_running_loop().create_future())
        return await asyncio.shield(outcome)  # a client that goes away cancels only its own wait

    def _start(self, key: UUID, outcome: asyncio.Future[Any]) -> asyncio.Future[Any]:
        self._in_flight[key] = outcome
        task = asyncio.create_task(self._run(key, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return outcome

    async def _run(self, key: UUID, outcome: asyncio.Future[Any]) -> None:
        try:
            outcome.set_result(await self._read(key))
        except asyncio.CancelledError:  # shutdown: this read and the next one end here
            del self._in_flight[key]
            for waiting in (outcome, self._next.pop(key, None)):
                if waiting is not None:
                    self._fail(waiting, Unavailable("the service is shutting down"))
            raise
        except Exception as exc:
            self._fail(outcome, exc)
        waiting = self._next.pop(key, None)
        if waiting is None:
            del self._in_flight[key]
        else:
            self._start(key, waiting)

    @staticmethod
    def _fail(outcome: asyncio.Future[Any], exc: Exception) -> None:
        outcome.set_exception(exc)
        outcome.add_done_callback(lambda f: f.exception())  # its waiters read it, or nobody: no warning

    async def close(self) -> None:
        """Lets reads in flight finish."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
