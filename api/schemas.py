"""Request and response models. Money is Decimal end to end: JSON numbers are parsed as Decimal (see
jsonbody.py), amounts leave as strings with 2 decimal places. The written form of an amount is checked
here; its sign and range are the database's rule."""

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
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{2}$", "examples": ["100.50"]}),
]

OperationType = Literal["DEPOSIT", "WITHDRAW"]


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


class Wallet(BaseModel):
    id: UUID
    balance: MoneyOut
    version: int = Field(description="Number of ledger entries; the seq of the newest.")
    created_at: datetime
    updated_at: datetime


class Operation(BaseModel):
    id: UUID = Field(description="Operation id.")
    wallet_id: UUID
    seq: int = Field(description="Position in the wallet's ledger, 1-based, gap-free.")
    operation_type: OperationType
    amount: MoneyOut
    balance_after: MoneyOut = Field(description="The wallet's balance right after this operation.")
    created_at: datetime


class OperationResult(Operation):
    balance: MoneyOut = Field(description="The wallet's balance after this operation (= balance_after).")
    replayed: bool = Field(description="True when this answers a repeated Idempotency-Key.")


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
