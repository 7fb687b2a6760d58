"""What the database layer raises: domain errors, in the database's vocabulary (a SQLSTATE of
wallet.error_codes() and its detail), or "the database is unavailable". Only api/errors.py turns them
into HTTP answers."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID


@dataclass
class WalletError(Exception):
    """A refusal of the wallet functions: sqlstate (WL001...) and its detail; extra facts for the client."""

    sqlstate: str
    detail: str
    balance: Decimal | None = None
    replayed: bool = False


@dataclass
class Unavailable(Exception):
    """The database could not be reached (after the retries), or this process cannot take the call now."""

    detail: str


class TransferRequest(NamedTuple):
    """One element of wallet.post_transfers (the type wallet.transfer_request), in its field order."""

    from_wallet_id: UUID | None
    to_wallet_id: UUID | None
    amount: Decimal
    idempotency_key: str
    ephemeral_key: bool
    metadata: str | None  # JSON text of an object, or None

    def wallets(self) -> tuple[UUID, ...]:
        """The wallets it touches, the destination first (the batcher asks several times per request)."""
        to, source = self.to_wallet_id, self.from_wallet_id
        if to is None:
            assert source is not None
            return (source,)
        return (to,) if source is None else (to, source)


class BulkPosting(NamedTuple):
    """The elements of one non-atomic bulk request, in order, as one item of the live batcher: they stay
    together and in order in one wallet.post_transfers call, beside whatever else shares it."""

    transfers: tuple[TransferRequest, ...]
    wallets: tuple[UUID, ...]  # every wallet the elements touch, once each; the first element's owner last

    @classmethod
    def of(cls, transfers: list[TransferRequest]) -> "BulkPosting":
        wallets = dict.fromkeys(w for t in transfers for w in t.wallets())
        owner = transfers[0].wallets()[-1]
        del wallets[owner]
        return cls(tuple(transfers), (*wallets, owner))


class HoldRequest(NamedTuple):
    """One element of wallet.create_holds (the type wallet.hold_request), in its field order."""

    amount: Decimal
    expires_in_seconds: int
    idempotency_key: str
    ephemeral_key: bool
    metadata: str | None


class HoldItem(NamedTuple):
    """A hold to place on a wallet: what the hold batcher queues."""

    wallet_id: UUID
    request: HoldRequest


def raise_for(row: Any) -> Any:
    """A wallet.transfer_result (or wallet.hold_outcome) row as it is, or its refusal raised as a WalletError."""
    if row["error_code"]:
        balance = row.get("balance_after") if row["error_code"] == "WL002" else None
        raise WalletError(row["error_code"], row["error_detail"], balance, bool(row["replayed"]))
    return row
