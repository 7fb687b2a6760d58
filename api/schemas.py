"""Request and response models. Money is Decimal end to end: JSON numbers are parsed as Decimal (see
jsonbody.py), amounts leave as strings with 2 decimal places. The written form of an amount is checked
here; its sign and range are the database's rule."""

import json
import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from api.jsonbody import ExponentNumber

# The one written form of an amount, for a JSON string and a JSON number alike: digits, optionally a
# point and 1 to 4 decimals (no currency has more minor units); at most 18 digits before the point; no
# sign, exponent, spaces or other characters. Its value is the database's rule: positive, not above
# the largest amount, and no fraction of a cent (1.001 is refused, 1.010 is 1.01).
AMOUNT_PATTERN = r"^[0-9]{1,18}(\.[0-9]{1,4})?$"
_AMOUNT_TEXT = re.compile(AMOUNT_PATTERN, re.ASCII)
_AMOUNT_FORM = (
    'must be written like "100.50" (at most 18 digits before the point and 4 after; no sign, exponent or spaces)'
)


def parse_money(value: Any) -> Decimal:
    """An amount as a decimal string ("100.50", preferred) or a JSON number (a Decimal or an int after
    jsonbody's parsing), exact, never a float; either way written in the one form above. Whether it is
    positive, in range and in whole cents is the database's rule (WL003). Every failure is an
    `invalid_amount` error."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, Decimal) and not isinstance(value, ExponentNumber) and value.is_finite():
        text = format(value, "f")
    elif isinstance(value, ExponentNumber):
        raise PydanticCustomError("invalid_amount", "must be written without an exponent, e.g. 100 not 1e2")
    else:
        raise PydanticCustomError("invalid_amount", 'must be a decimal string such as "100.50" or a JSON number')
    if not _AMOUNT_TEXT.fullmatch(text):
        raise PydanticCustomError("invalid_amount", "{form}, not {got}", {"form": _AMOUNT_FORM, "got": repr(text[:40])})
    return Decimal(text)


def _money_schema(what: str, lowest: dict[str, int]) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "pattern": AMOUNT_PATTERN, "maxLength": 23},
            {"type": "number", **lowest, "exclusiveMaximum": 10**18},
        ],
        "description": f"{what}, at most 999999999999999999.99: a decimal string (preferred) or a JSON number, "
        'e.g. "100.50". Either way written in plain decimal notation: digits, optionally a point and 1 to 4 '
        "decimals; no sign, no exponent. A fraction of a cent (1.001) is refused, never rounded; trailing "
        "zeros are fine (1.010 is 1.01).",
        "examples": ["100.50"],
    }


AmountIn = Annotated[
    Decimal, PlainValidator(parse_money), WithJsonSchema(_money_schema("A positive amount", {"exclusiveMinimum": 0}))
]
BalanceIn = Annotated[Decimal, PlainValidator(parse_money), WithJsonSchema(_money_schema("A balance", {"minimum": 0}))]
# Amounts leave as the database rounds them: with exactly the currency's minor-unit places
# ("100.50" for USD, "100" for JPY, "1.500" for KWD).
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d+(\.\d{1,4})?$",
            "description": "A decimal string with exactly the currency's minor-unit places.",
            "examples": ["100.50"],
        }
    ),
]

# An idempotency key is 1-255 visible ASCII characters (RFC 9110's VCHAR: no spaces, no control characters,
# no non-ASCII, which HTTP would carry only as undecodable bytes); in a header, whitespace around it is not
# part of it.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"

OperationType = Literal["DEPOSIT", "WITHDRAW"]
EntryKind = Literal["DEPOSIT", "WITHDRAW", "TRANSFER_IN", "TRANSFER_OUT"]
CURRENCY_PATTERN = r"^[A-Z]{3}$"
METADATA_MAX_DEPTH = 16


def parse_metadata(value: Any) -> str | None:
    """Metadata is a JSON object (or absent); it travels to the database as JSON text. What the
    database could not store is refused here: a NUL in a string, a number a 64-bit float cannot hold
    exactly (so every client reads back the number it sent). Its size is the database's rule (WL013).
    Every failure is an `invalid_metadata` error."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PydanticCustomError("invalid_metadata", 'must be a JSON object, e.g. {"order": "A-17"}')
    return json.dumps(_plain(value, 0), ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any, depth: int) -> Any:
    if depth > METADATA_MAX_DEPTH:
        raise PydanticCustomError("invalid_metadata", "is nested more than {n} levels deep", {"n": METADATA_MAX_DEPTH})
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("invalid_metadata", "a string in it holds a NUL character")
        return value
    if isinstance(value, dict):
        return {_plain(k, depth + 1): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**18:
            raise PydanticCustomError("invalid_metadata", "an integer in it is above 10^18")
        return value
    if isinstance(value, Decimal):
        as_float = float(value)
        if not math.isfinite(as_float) or Decimal(repr(as_float)) != value:
            raise PydanticCustomError(
                "invalid_metadata", "the number {n} in it is not exactly a 64-bit float", {"n": str(value)[:40]}
            )
        return as_float
    return value  # True, False, None


def parse_currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(CURRENCY_PATTERN, value):
        raise PydanticCustomError("invalid_currency", "must be an ISO 4217 code of 3 capital letters, e.g. EUR")
    return value


CurrencyIn = Annotated[
    str,
    PlainValidator(parse_currency),
    WithJsonSchema({"type": "string", "pattern": CURRENCY_PATTERN, "examples": ["EUR"]}),
]

MetadataIn = Annotated[
    str | None,
    PlainValidator(parse_metadata),
    WithJsonSchema(
        {
            "anyOf": [{"type": "object"}, {"type": "null"}],
            "description": "Your JSON object (at most 4096 bytes as PostgreSQL writes it): stored with the "
            "transfer, returned with it and in the ledger, part of the idempotency comparison. null: none.",
            "examples": [{"order": "A-17"}],
        }
    ),
]


class RequestBody(BaseModel):
    """A request body is a JSON object. (Without this, a bare JSON number, parsed as a Decimal, would
    be read as an object whose fields are all absent.)"""

    @model_validator(mode="before")
    @classmethod
    def _json_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data


class CreateWalletRequest(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"initial_balance": "10.00"}]})

    initial_balance: BalanceIn = Field(
        default=Decimal(0),
        validation_alias=AliasChoices("initial_balance", "initialBalance"),
        description="Opening balance (default 0); recorded as the wallet's first ledger entry.",
    )
    currency: CurrencyIn | None = Field(
        default=None,
        description="ISO 4217 code of the wallet's currency (default: the service's, USD unless configured).",
    )


class OperationRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"operation_type": "DEPOSIT", "amount": "100.50"},
                {"operationType": "WITHDRAW", "amount": 25},
            ]
        },
    )

    operation_type: OperationType = Field(
        validation_alias=AliasChoices("operation_type", "operationType"),
        description="DEPOSIT or WITHDRAW (`operationType` is accepted too).",
    )
    amount: AmountIn
    wallet_id: UUID | None = Field(
        default=None,
        validation_alias=AliasChoices("wallet_id", "walletId"),
        description="Optional; if present it must equal the wallet id in the path.",
    )
    metadata: MetadataIn = None


class TransferRequestBody(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "from_wallet_id": "dfc0bc37-5fb7-346a-97f2-d637eeb6e07e",
                    "to_wallet_id": "7c4f1a52-31c2-3c79-9d1e-0f3a2b6c8e11",
                    "amount": "25.00",
                    "metadata": {"order": "A-17"},
                }
            ]
        },
    )

    from_wallet_id: UUID = Field(validation_alias=AliasChoices("from_wallet_id", "fromWalletId"))
    to_wallet_id: UUID = Field(validation_alias=AliasChoices("to_wallet_id", "toWalletId"))
    amount: AmountIn
    metadata: MetadataIn = None


class Wallet(BaseModel):
    id: UUID
    balance: MoneyOut
    version: int = Field(description="Number of ledger entries; the seq of the newest.")
    created_at: datetime
    updated_at: datetime
    currency: str = Field(description="ISO 4217 code; every amount of the wallet is in it.")
    available_balance: MoneyOut = Field(
        description="The balance minus the wallet's active holds: what withdrawals, transfers out and new "
        "holds may take."
    )


class BalanceAt(BaseModel):
    wallet_id: UUID
    currency: str
    at: datetime = Field(description="The moment asked for (now, without `at`).")
    balance: MoneyOut = Field(description="The balance at that moment: after its latest entry at or before it.")
    available_balance: MoneyOut | None = Field(
        description="The balance minus active holds, now; null for a moment in the past (holds keep no history)."
    )
    seq: int = Field(description="The seq of that entry; 0 before the wallet's first entry.")


class Operation(BaseModel):
    id: UUID = Field(description="Operation (ledger entry) id.")
    wallet_id: UUID
    seq: int = Field(description="Position in the wallet's ledger, 1-based, gap-free.")
    operation_type: EntryKind = Field(description="DEPOSIT, WITHDRAW, or a transfer's leg: TRANSFER_IN, TRANSFER_OUT.")
    amount: MoneyOut
    balance_after: MoneyOut = Field(description="The wallet's balance right after this operation.")
    created_at: datetime
    transfer_id: UUID = Field(description="The transfer this entry is a leg of (GET /api/v1/transfers/{id}).")
    counterparty_wallet_id: UUID | None = Field(
        description="The other wallet of a transfer; null for the outside world."
    )
    metadata: dict[str, Any] | None = Field(description="The transfer's metadata, as sent.")


class OperationResult(Operation):
    balance: MoneyOut = Field(description="The wallet's balance after this operation (= balance_after).")
    currency: str
    replayed: bool = Field(description="True when this answers a repeated Idempotency-Key.")


class Transfer(BaseModel):
    id: UUID
    kind: Literal["DEPOSIT", "WITHDRAW", "TRANSFER"] = Field(
        description="TRANSFER between wallets; DEPOSIT from or WITHDRAW to the outside world."
    )
    from_wallet_id: UUID | None = Field(description="null for a deposit: the outside world.")
    to_wallet_id: UUID | None = Field(description="null for a withdrawal: the outside world.")
    amount: MoneyOut
    currency: str
    metadata: dict[str, Any] | None
    created_at: datetime


class TransferView(Transfer):
    reverses: UUID | None = Field(description="The transfer this one reverses (all or part of); null if none.")
    reversed_amount: MoneyOut = Field(description="How much of this transfer its reversals have moved back so far.")
    hold_id: UUID | None = Field(description="The hold whose capture this transfer is; null if none.")


class ReversalRequest(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"amount": "5.00"}]})

    amount: AmountIn | None = Field(
        default=None, description="At most what is not yet reversed; default: all that is not yet reversed."
    )
    metadata: MetadataIn = None


class ReversalResult(Transfer):
    reverses: UUID = Field(description="The transfer this reversal moves money back along.")
    original_reversed_amount: MoneyOut = Field(
        description="How much of the original is reversed in all, this reversal included."
    )
    balance: MoneyOut = Field(
        description="The balance right after it of the wallet that paid back (the original's destination; for a "
        "withdrawal's reversal, its wallet)."
    )
    replayed: bool = Field(description="True when this answers a repeated Idempotency-Key.")


class TransferResult(Transfer):
    balance: MoneyOut = Field(description="The SOURCE wallet's balance right after the transfer.")
    replayed: bool = Field(description="True when this answers a repeated Idempotency-Key.")


HOLD_MAX_SECONDS = 2_592_000  # 30 days


class CreateHoldRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "25.00", "expires_in_seconds": 900, "metadata": {"order": "A-17"}}]},
    )

    amount: AmountIn
    expires_in_seconds: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        le=HOLD_MAX_SECONDS,
        validation_alias=AliasChoices("expires_in_seconds", "expiresInSeconds"),
        description="Seconds until the hold expires by itself (1 to 2,592,000: 30 days); default 3600 "
        "(the setting WALLET_HOLD_DEFAULT_SECONDS).",
    )
    metadata: MetadataIn = None


class CaptureHoldRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{}, {"amount": "20.00"}, {"to_wallet_id": "7c4f1a52-31c2-3c79-9d1e-0f3a2b6c8e11"}]
        },
    )

    amount: AmountIn | None = Field(default=None, description="At most the hold's amount; default: all of it.")
    to_wallet_id: UUID | None = Field(
        default=None,
        validation_alias=AliasChoices("to_wallet_id", "toWalletId"),
        description="Pay this wallet (same currency); absent: the money leaves as a withdrawal.",
    )
    metadata: MetadataIn = None


class VoidHoldRequest(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class Hold(BaseModel):
    id: UUID
    wallet_id: UUID
    amount: MoneyOut = Field(description="The money reserved.")
    currency: str
    status: Literal["active", "captured", "voided", "expired"]
    captured_amount: MoneyOut | None = Field(description="What the capture took; null unless captured.")
    transfer_id: UUID | None = Field(description="The transfer that moved the captured money; null unless captured.")
    to_wallet_id: UUID | None = Field(description="The wallet the capture paid; null for a withdrawal or no capture.")
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None = Field(description="When it was captured, voided or expired; null while active.")
    metadata: dict[str, Any] | None
    available_balance: MoneyOut = Field(description="The wallet's available balance now.")


class HoldResult(Hold):
    replayed: bool = Field(description="True when this answers a repeated Idempotency-Key.")


BULK_MAX = 1000


class BulkTransferElement(RequestBody):
    model_config = ConfigDict(extra="forbid")

    from_wallet_id: UUID | None = Field(
        default=None,
        validation_alias=AliasChoices("from_wallet_id", "fromWalletId"),
        description="The source; absent: a deposit (from the outside world).",
    )
    to_wallet_id: UUID | None = Field(
        default=None,
        validation_alias=AliasChoices("to_wallet_id", "toWalletId"),
        description="The destination; absent: a withdrawal (to the outside world).",
    )
    amount: AmountIn
    idempotency_key: str | None = Field(
        default=None,
        pattern=KEY_PATTERN,
        validation_alias=AliasChoices("idempotency_key", "idempotencyKey"),
        description="This element's key (1-255 visible ASCII characters), scoped to its source (a deposit's: its "
        "wallet), as the Idempotency-Key header of a single request.",
    )
    metadata: MetadataIn = None

    @model_validator(mode="after")
    def _names_a_wallet(self) -> "BulkTransferElement":
        if self.from_wallet_id is None and self.to_wallet_id is None:
            raise ValueError("a transfer names from_wallet_id, to_wallet_id or both")
        return self


class BulkRequest(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "transfers": [
                        {"to_wallet_id": "7c4f1a52-31c2-3c79-9d1e-0f3a2b6c8e11", "amount": "10.00"},
                        {
                            "from_wallet_id": "7c4f1a52-31c2-3c79-9d1e-0f3a2b6c8e11",
                            "to_wallet_id": "dfc0bc37-5fb7-346a-97f2-d637eeb6e07e",
                            "amount": "2.50",
                            "idempotency_key": "payout-17",
                        },
                    ],
                    "atomic": False,
                }
            ]
        },
    )

    transfers: list[BulkTransferElement] = Field(min_length=1, max_length=BULK_MAX)
    atomic: bool = Field(
        default=False,
        strict=True,
        description="true: all apply or none does (the first refused element fails the request, nothing written).",
    )


class BulkTransferResult(TransferResult):
    status: int = Field(description="201: applied (or replayed).")


class BulkProblem(BaseModel):
    status: int = Field(description="The HTTP status the element alone would have had (400, 404, 422).")
    code: str
    title: str
    detail: str
    balance: str | None = Field(default=None, description="The source's balance, for insufficient_funds.")


class BulkResponse(BaseModel):
    results: list[BulkTransferResult | BulkProblem] = Field(description="One per element, in order.")


# The same response as plain dicts for the serializer (up to 1,000 results: a model per result costs more
# than building the answer). tests/test_bulk.py checks both write the same JSON and name the same fields.
class BulkTransferResultDict(TypedDict):
    id: UUID
    kind: str
    from_wallet_id: UUID | None
    to_wallet_id: UUID | None
    amount: MoneyOut
    currency: str
    metadata: dict[str, Any] | None
    created_at: datetime
    balance: MoneyOut
    replayed: bool
    status: int


class BulkProblemDict(TypedDict):
    status: int
    code: str
    title: str
    detail: str
    balance: str | None


class BulkResponseDict(TypedDict):
    results: list[BulkTransferResultDict | BulkProblemDict]


BULK_RESPONSE_JSON = TypeAdapter(BulkResponseDict)


class OperationsPage(BaseModel):
    items: list[Operation]
    limit: int
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null when this page is not full (the end, for now)."
    )


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str = Field(description="Stable error code, e.g. insufficient_funds (see the README's error table).")
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None, description="Field errors, for 422.")
    balance: str | None = Field(default=None, description="Current balance, for insufficient_funds.")
