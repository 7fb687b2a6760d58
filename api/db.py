"""The one door to the database: an asyncpg pool, one SQL function call per request, and retries of
transient faults. Every mutating call carries an idempotency key, so a retry never applies twice."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from api.domain import HoldRequest, TransferRequest, Unavailable, WalletError
from api.metrics import DB_LATENCY, DB_RETRIES
from api.settings import Settings

log = logging.getLogger("wallet.db")
T = TypeVar("T")

# SQLSTATEs worth another attempt: the same call may succeed on a fresh connection or a moment later.
TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up)
        "53300",  # too_many_connections
        "53400",  # configuration_limit_exceeded
    }
)


class PoolExhausted(Exception):
    """No connection became free within pool_acquire_timeout."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = exc.sqlstate or ""
        # Class 08: connection exceptions, which is also what PgBouncer sends when it loses the server.
        return sqlstate.startswith("08") or sqlstate in TRANSIENT_SQLSTATES
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection" in str(exc).lower() and "closed" in str(exc).lower()
    if isinstance(exc, asyncpg.InternalClientError):
        # The protocol lost its footing when the server went away mid-call (seen during an immediate
        # PostgreSQL shutdown): the connection is discarded, and the call is safe to repeat with its key.
        return True
    return isinstance(exc, OSError | asyncio.TimeoutError | ConnectionError)


async def _keep_session(_: asyncpg.Connection) -> None:
    """Release without RESET ALL: behind transaction pooling no session state survives anyway, and
    the reset would blank application_name and cost a round trip per request."""


class Database:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        s = self.settings
        self._pool = await asyncpg.create_pool(
            host=s.db_host,
            port=s.db_port,
            user=s.db_user,
            password=s.db_password.get_secret_value(),
            database=s.db_name,
            min_size=0,
            max_size=s.pool_max_size,
            statement_cache_size=s.statement_cache_size,
            command_timeout=s.command_timeout,
            server_settings={"application_name": "wallet-api"},
            reset=_keep_session,
        )
        try:  # warm the pool; a database that is down now is not fatal, /ready tells
            await self.ping()
        except Unavailable:
            log.warning("database not reachable at startup; requests will retry")

    async def close(self) -> None:
        if self._pool is not None:
            await asyncio.wait_for(self._pool.close(), timeout=10)

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "Database.open() was not called"
        return self._pool

    def pool_stats(self) -> dict[str, int]:
        pool = self.pool
        size = pool.get_size()
        idle = pool.get_idle_size()
        return {"size": size, "idle": idle, "in_use": size - idle, "max": pool.get_max_size()}

    async def run(
        self, call: Callable[[asyncpg.Connection], Awaitable[T]], attempts: int | None = None, call_name: str = "other"
    ) -> T:
        """Runs `call` on a pooled connection, retrying transient faults with jittered backoff."""
        with DB_LATENCY.labels(call_name).time():
            return await self._run(call, attempts)

    async def _run(self, call: Callable[[asyncpg.Connection], Awaitable[T]], attempts: int | None) -> T:
        s = self.settings
        started = time.monotonic()
        try:
            try:  # the first attempt without building a retry controller: almost every call ends here
                return await self._attempt(call)
            except Exception as exc:
                if not is_transient(exc) or (attempts or s.retry_attempts) <= 1:
                    raise
                first: Exception | None = exc
            retrying = AsyncRetrying(
                stop=stop_after_attempt(attempts or s.retry_attempts)
                | stop_after_delay(max(0.0, s.retry_max_seconds - (time.monotonic() - started))),
                wait=wait_random_exponential(multiplier=0.05, max=1.0),
                retry=retry_if_exception(is_transient),
                before_sleep=self._count_retry,
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    if first is not None:  # tenacity's attempt 1 is the one that already failed
                        failed, first = first, None
                        raise failed
                    return await self._attempt(call)
        except PoolExhausted:
            raise Unavailable(f"no database connection became free within {s.pool_acquire_timeout:g} s") from None
        except asyncpg.PostgresError as exc:
            if exc.sqlstate and exc.sqlstate.startswith("WL"):
                raise WalletError(exc.sqlstate, exc.detail or exc.message) from None
            if is_transient(exc):
                raise Unavailable(f"database unavailable: {exc.sqlstate}") from exc
            raise
        except Exception as exc:
            if is_transient(exc):
                raise Unavailable("database unavailable") from exc
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, call: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        pool = self.pool
        try:
            con = await pool.acquire(timeout=self.settings.pool_acquire_timeout)
        except TimeoutError:
            raise PoolExhausted from None
        try:
            return await call(con)
        finally:
            await pool.release(con)

    def _count_retry(self, state: Any) -> None:
        exc = state.outcome.exception() if state.outcome else None
        DB_RETRIES.labels(type(exc).__name__).inc()
        log.warning("retrying database call (attempt %s): %r", state.attempt_number, exc)

    # --- the SQL API, one function call each ---

    async def create_wallet(self, initial_balance: Decimal, idempotency_key: str, currency: str) -> asyncpg.Record:
        sql = "SELECT * FROM wallet.create_wallet($1, NULL, $2, $3)"
        return await self._one(lambda c: c.fetchrow(sql, initial_balance, idempotency_key, currency), "create_wallet")

    async def get_wallet(self, wallet_id: UUID) -> asyncpg.Record:
        return await self._one(lambda c: c.fetchrow("SELECT * FROM wallet.get_wallet($1)", wallet_id), "get_wallet")

    async def balance_at(self, wallet_id: UUID, at: datetime | None) -> asyncpg.Record:
        sql = "SELECT * FROM wallet.balance_at($1, $2)"
        return await self._one(lambda c: c.fetchrow(sql, wallet_id, at), "balance_at")

    async def post_transfers(
        self, wallet_id: UUID, requests: list[TransferRequest], atomic: bool = False
    ) -> list[asyncpg.Record]:
        """wallet.post_transfers: one wallet.transfer_result per request, in order; a refused request
        comes back as a row with its error code (nothing of it written). atomic: wallet.post_transfers_atomic,
        which raises the first refusal and writes nothing."""
        if atomic:
            sql = "SELECT * FROM wallet.post_transfers_atomic($1, $2::wallet.transfer_request[])"
            return await self.run(lambda c: c.fetch(sql, wallet_id, requests), call_name="post_transfers_atomic")
        sql = "SELECT * FROM wallet.post_transfers($1, $2::wallet.transfer_request[])"
        return await self.run(lambda c: c.fetch(sql, wallet_id, requests), call_name="post_transfers")

    async def get_transfer(self, transfer_id: UUID) -> asyncpg.Record:
        sql = "SELECT * FROM wallet.get_transfer($1)"
        return await self._one(lambda c: c.fetchrow(sql, transfer_id), "get_transfer")

    async def create_holds(self, wallet_id: UUID, requests: list[HoldRequest]) -> list[asyncpg.Record]:
        """wallet.create_holds: one wallet.hold_outcome per request, in order; a refused request comes
        back as a row with its error code (nothing of it written)."""
        sql = "SELECT * FROM wallet.create_holds($1, $2::wallet.hold_request[])"
        return await self.run(lambda c: c.fetch(sql, wallet_id, requests), call_name="create_holds")

    async def get_hold(self, hold_id: UUID) -> asyncpg.Record:
        return await self._one(lambda c: c.fetchrow("SELECT * FROM wallet.get_hold($1)", hold_id), "get_hold")

    async def capture_hold(
        self,
        hold_id: UUID,
        amount: Decimal | None,
        to_wallet_id: UUID | None,
        idempotency_key: str,
        metadata: str | None,
    ) -> asyncpg.Record:
        sql = "SELECT * FROM wallet.capture_hold(NULL, $1, $2, $3, $4, $5::jsonb)"
        return await self._one(
            lambda c: c.fetchrow(sql, hold_id, amount, to_wallet_id, idempotency_key, metadata), "capture_hold"
        )

    async def void_hold(self, hold_id: UUID, idempotency_key: str) -> asyncpg.Record:
        sql = "SELECT * FROM wallet.void_hold(NULL, $1, $2)"
        return await self._one(lambda c: c.fetchrow(sql, hold_id, idempotency_key), "void_hold")

    async def expire_holds(self) -> int:
        """wallet.expire_holds: active holds past their expiry become expired; how many."""
        expired = await self.run(
            lambda c: c.fetchval("SELECT wallet.expire_holds()"), attempts=1, call_name="expire_holds"
        )
        return int(expired)

    async def _one(self, call: Callable[[asyncpg.Connection], Awaitable[Any]], call_name: str) -> asyncpg.Record:
        """A function that returns one row or raises (WL001, WL011, ...): its row."""
        row: asyncpg.Record | None = await self.run(call, call_name=call_name)
        assert row is not None
        return row

    async def reverse_transfer(
        self, transfer_id: UUID, amount: Decimal | None, idempotency_key: str, metadata: str | None
    ) -> asyncpg.Record:
        sql = "SELECT * FROM wallet.reverse_transfer(NULL, $1, $2, $3, $4::jsonb)"
        return await self._one(
            lambda c: c.fetchrow(sql, transfer_id, amount, idempotency_key, metadata), "reverse_transfer"
        )

    async def expire_refusals(self) -> int:
        """wallet.expire_refusals: deletes refusals of server-made keys past their expiry; how many."""
        removed = await self.run(
            lambda c: c.fetchval("SELECT wallet.expire_refusals()"), attempts=1, call_name="expire_refusals"
        )
        return int(removed)

    async def list_operations(
        self,
        wallet_id: UUID,
        after: int | None,
        limit: int,
        types: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        transfer_id: UUID | None = None,
        descending: bool = False,
    ) -> list[asyncpg.Record]:
        sql = "SELECT * FROM wallet.list_operations($1, $2, $3, $4, $5, $6, $7, $8)"
        return await self.run(
            lambda c: c.fetch(sql, wallet_id, after, limit, types, since, until, transfer_id, descending),
            call_name="list_operations",
        )

    async def ping(self) -> None:
        await self.run(lambda c: c.execute("SELECT 1"), attempts=1)
