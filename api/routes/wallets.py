"""Wallet endpoints: validate the shape of a request, make one database call, map the result."""

import itertools
import re
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from pydantic import BaseModel, BeforeValidator
from pydantic_core import PydanticCustomError

from api.batcher import Batcher
from api.db import Database
from api.errors import INVALID_KEY, SQLSTATES, ProblemError, from_sqlstate
from api.jsonbody import DecimalJSONRoute
from api.schemas import (
    CreateWalletRequest,
    Operation,
    OperationRequest,
    OperationResult,
    OperationsPage,
    Problem,
    Wallet,
)

router = APIRouter(prefix="/api/v1/wallets", tags=["wallets"], route_class=DecimalJSONRoute)

# A key is 1-255 visible ASCII characters (RFC 9110's VCHAR: no spaces, no control characters, no
# non-ASCII, which HTTP would carry only as undecodable bytes); whitespace around it is not part of it.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY_TEXT = re.compile(KEY_PATTERN)


@dataclass(frozen=True, slots=True)
class Key:
    """The idempotency key of a request: the client's, or one the server made for its own retries."""

    value: str
    ephemeral: bool


def idempotency_key(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1-255 visible ASCII characters (no spaces), scoped to the wallet; whitespace around it "
            "is ignored. Repeating a request with its key returns the original outcome and changes nothing: the "
            "operation, or the same refusal for insufficient funds or the balance limit (a key's outcome is "
            "final). The same key with another request gets 422. Without one, the server makes a key per "
            "request so its own retries are safe (a refusal recorded for it expires after 10 minutes).",
            json_schema_extra={"pattern": KEY_PATTERN},
        ),
    ] = None,
) -> Key:
    if idempotency_key is None:
        return Key(_server_key(), ephemeral=True)
    values = request.headers.getlist("idempotency-key")
    if len(values) > 1:
        raise _key_problem(f"the request has {len(values)} Idempotency-Key headers; send one")
    key = idempotency_key.strip(" \t")
    if not _KEY_TEXT.fullmatch(key):
        raise _key_problem(
            f"an Idempotency-Key is 1 to 255 visible ASCII characters without spaces; this one has {len(key)} "
            "characters" + ("" if key.isascii() and key.isprintable() else ", some of them not visible ASCII")
        )
    return Key(key, ephemeral=False)


def _key_problem(detail: str) -> ProblemError:
    return ProblemError(INVALID_KEY, detail, {"errors": [{"loc": ["header", "Idempotency-Key"], "msg": detail}]})


IdempotencyKey = Annotated[Key, Depends(idempotency_key)]


def _digits_only(value: Any) -> Any:
    """Query integers are written in ASCII digits only: no sign, space, underscore or decimal point."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_parsing", "must be a whole number written in digits only")
    return value


DigitsOnly = BeforeValidator(_digits_only)


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Insufficient funds (`insufficient_funds`, with the current `balance`) or balance limit exceeded.",
        404: "No such wallet (`wallet_not_found`).",
        409: "The wallet exists already (`wallet_already_exists`).",
        422: "Invalid request: malformed JSON, a field error (`validation_error`, with `errors`), "
        "`invalid_amount`, `invalid_operation_type`, `invalid_idempotency_key`, `idempotency_key_reused`.",
        503: "The database is unreachable or busy; retry after `Retry-After` seconds.",
    }
    return {
        s: {"model": Problem, "description": described[s], "content": {"application/problem+json": {}}}
        for s in statuses
    }


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


# Keys the server makes for requests that bring none: unique per process start and request, cheaper
# than a UUID per request. They make the server's own retries of the call safe.
_PROCESS = uuid4().hex
_SEQUENCE = itertools.count(1)


def _server_key() -> str:
    return f"srv-{_PROCESS}-{next(_SEQUENCE)}"


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The model as JSON, built from trusted database rows (model_construct, no re-validation); the
    route's response_model still documents it."""
    return Response(model.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


def _operation_fields(row: Any) -> dict[str, Any]:
    """A ledger entry's public fields, from a row of apply_operations or list_operations."""
    return {
        "id": row["operation_id"],
        "wallet_id": row["wallet_id"],
        "seq": row["seq"],
        "operation_type": row["operation_type"],
        "amount": row["amount"],
        "balance_after": row["balance_after"],
        "created_at": row["created_at"],
    }


def _wallet(row: Any) -> Wallet:
    return Wallet.model_construct(
        id=row["wallet_id"],
        balance=row["balance"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


@router.post(
    "",
    status_code=201,
    response_model=Wallet,
    summary="Create a wallet",
    responses={**_problems(409, 422, 503), 201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def create_wallet(
    request: Request,
    key: IdempotencyKey,
    body: Annotated[CreateWalletRequest | None, Body()] = None,
) -> Response:
    initial = body.initial_balance if body else CreateWalletRequest().initial_balance
    row = await _db(request).create_wallet(initial, key.value)
    headers = {"Location": f"{router.prefix}/{row['wallet_id']}"}
    if row["replayed"]:
        headers["Idempotent-Replayed"] = "true"
    return _json(_wallet(row), 201, headers)


router.add_api_route(
    "/", create_wallet, methods=["POST"], status_code=201, response_model=Wallet, include_in_schema=False
)


@router.get("/{wallet_id}", response_model=Wallet, summary="Read a wallet", responses=_problems(404, 422, 503))
async def get_wallet(request: Request, wallet_id: UUID) -> Response:
    return _json(_wallet(await _db(request).get_wallet(wallet_id)))


@router.post(
    "/{wallet_id}/operation",
    response_model=OperationResult,
    summary="Deposit into or withdraw from a wallet",
    responses=_problems(400, 404, 422, 503),
)
async def apply_operation(
    request: Request,
    wallet_id: UUID,
    body: OperationRequest,
    key: IdempotencyKey,
) -> Response:
    if body.wallet_id is not None and body.wallet_id != wallet_id:
        raise ProblemError(
            SQLSTATES["WL009"],
            f"walletId {body.wallet_id} in the body differs from {wallet_id} in the path",
            {"errors": [{"loc": ["body", "walletId"], "msg": "must equal the wallet id in the path"}]},
        )
    batcher: Batcher | None = request.app.state.batcher
    if batcher is not None:
        row = await batcher.apply(wallet_id, body.operation_type, body.amount, key.value, key.ephemeral)
    else:
        (row,) = await _db(request).apply_operations(
            wallet_id, [body.operation_type], [body.amount], [key.value], [key.ephemeral]
        )
    if row["error_code"]:
        extra = {}
        if row["error_code"] == "WL002":
            extra["balance"] = f"{row['balance_after']:.2f}"
        problem = from_sqlstate(row["error_code"], row["error_detail"], **extra)
        if row["replayed"]:  # a refusal recorded for this key, answered again
            problem.headers["Idempotent-Replayed"] = "true"
        raise problem
    result = OperationResult.model_construct(
        **_operation_fields(row), balance=row["balance_after"], replayed=row["replayed"]
    )
    return _json(result, headers={"Idempotent-Replayed": "true"} if row["replayed"] else None)


@router.get(
    "/{wallet_id}/operations",
    response_model=OperationsPage,
    summary="List a wallet's operations (its ledger), oldest first",
    responses=_problems(404, 422, 503),
)
async def list_operations(
    request: Request,
    wallet_id: UUID,
    limit: Annotated[int, DigitsOnly, Query(ge=1, le=1000, description="Page size.")] = 100,
    after: Annotated[
        int,
        DigitsOnly,
        Query(
            ge=0,
            le=2**63 - 1,
            description="Return entries with seq > after (the previous page's next_after).",
        ),
    ] = 0,
) -> Response:
    rows = await _db(request).list_operations(wallet_id, after, limit)
    items = [Operation.model_construct(**_operation_fields(r)) for r in rows]
    page = OperationsPage.model_construct(
        items=items, limit=limit, next_after=items[-1].seq if len(items) == limit else None
    )
    return _json(page)
