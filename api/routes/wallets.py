"""Wallet endpoints: validate the shape of a request, make one database call, map the result."""

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.db import Database
from api.domain import TransferRequest, raise_for
from api.errors import SQLSTATES, ProblemError
from api.jsonbody import DecimalJSONRoute
from api.reads import SharedReads
from api.routes.common import (
    DigitsOnly,
    KeyHeader,
    Rfc3339,
    database,
    json_response,
    metadata_out,
    post,
    problems,
    request_key,
)
from api.schemas import (
    BalanceAt,
    CreateWalletRequest,
    EntryKind,
    Operation,
    OperationRequest,
    OperationResult,
    OperationsPage,
    Wallet,
)

router = APIRouter(prefix="/api/v1/wallets", tags=["wallets"], route_class=DecimalJSONRoute)


def _operation_fields(row: Any) -> dict[str, Any]:
    """A ledger entry's public fields, from a row of list_operations."""
    return {
        "id": row["operation_id"],
        "wallet_id": row["wallet_id"],
        "seq": row["seq"],
        "operation_type": row["operation_type"],
        "amount": row["amount"],
        "balance_after": row["balance_after"],
        "created_at": row["created_at"],
        "transfer_id": row["transfer_id"],
        "counterparty_wallet_id": row["counterparty_wallet_id"],
        "metadata": metadata_out(row["metadata"]),
    }


def _wallet(row: Any) -> Wallet:
    return Wallet.model_construct(
        id=row["wallet_id"],
        balance=row["balance"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        currency=row["currency"],
        # wallet.create_wallet answers with the wallet as it was created: nothing held yet
        available_balance=row.get("available_balance", row["balance"]),
    )


@router.post(
    "",
    status_code=201,
    response_model=Wallet,
    summary="Create a wallet",
    responses={**problems(409, 422, 503), 201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def create_wallet(
    request: Request,
    body: Annotated[CreateWalletRequest | None, Body()] = None,
    idempotency_key: KeyHeader = None,
) -> Response:
    key = request_key(request, idempotency_key)
    body = body or CreateWalletRequest()
    currency = body.currency or request.app.state.settings.default_currency
    row = await database(request).create_wallet(body.initial_balance, key.value, currency)
    headers = {"Location": f"{router.prefix}/{row['wallet_id']}"}
    if row["replayed"]:
        headers["Idempotent-Replayed"] = "true"
    return json_response(_wallet(row), 201, headers)


router.add_api_route(
    "/", create_wallet, methods=["POST"], status_code=201, response_model=Wallet, include_in_schema=False
)


@router.get("/{wallet_id}", response_model=Wallet, summary="Read a wallet", responses=problems(404, 422, 503))
async def get_wallet(request: Request, wallet_id: UUID) -> Response:
    reads: SharedReads | None = request.app.state.reads  # GETs of a busy wallet share its reads
    row = await (reads.get(wallet_id) if reads is not None else database(request).get_wallet(wallet_id))
    return json_response(_wallet(row))


@router.get(
    "/{wallet_id}/balance",
    response_model=BalanceAt,
    summary="A wallet's balance at a moment (default: now), from its ledger",
    responses=problems(404, 422, 503),
)
async def balance_at(
    request: Request,
    wallet_id: UUID,
    at: Annotated[
        datetime | None,
        Rfc3339,
        Query(
            description="An RFC 3339 timestamp with its offset (2026-12-02T08:06:13Z); default now. Before the "
            "wallet existed: 404; in the future: 422.",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
) -> Response:
    row = await database(request).balance_at(wallet_id, at)
    return json_response(
        BalanceAt.model_construct(
            wallet_id=row["wallet_id"],
            currency=row["currency"],
            at=row["at"],
            balance=row["balance"],
            available_balance=row["available_balance"],
            seq=row["seq"],
        )
    )


@router.post(
    "/{wallet_id}/operation",
    response_model=OperationResult,
    summary="Deposit into or withdraw from a wallet (a transfer with the outside world)",
    responses=problems(400, 404, 422, 503),
)
async def apply_operation(
    request: Request,
    wallet_id: UUID,
    body: OperationRequest,
    idempotency_key: KeyHeader = None,
) -> Response:
    key = request_key(request, idempotency_key)
    if body.wallet_id is not None and body.wallet_id != wallet_id:
        raise ProblemError(
            SQLSTATES["WL009"],
            f"walletId {body.wallet_id} in the body differs from {wallet_id} in the path",
            {"errors": [{"loc": ["body", "walletId"], "msg": "must equal the wallet id in the path"}]},
        )
    deposit = body.operation_type == "DEPOSIT"
    transfer = TransferRequest(
        None if deposit else wallet_id,
        wallet_id if deposit else None,
        body.amount,
        key.value,
        key.ephemeral,
        body.metadata,
    )
    row = raise_for(await post(request, transfer))
    result = OperationResult.model_construct(
        id=row["entry_id"],
        wallet_id=wallet_id,
        seq=row["seq"],
        operation_type=row["entry_kind"],
        amount=row["amount"],
        balance_after=row["balance_after"],
        created_at=row["created_at"],
        transfer_id=row["transfer_id"],
        counterparty_wallet_id=None,
        metadata=metadata_out(row["metadata"]),
        balance=row["balance_after"],
        currency=row["currency"],
        replayed=row["replayed"],
    )
    return json_response(result, headers={"Idempotent-Replayed": "true"} if row["replayed"] else None)


CSV_COLUMNS = (
    "id",
    "wallet_id",
    "seq",
    "operation_type",
    "amount",
    "balance_after",
    "currency",
    "created_at",
    "transfer_id",
    "counterparty_wallet_id",
    "metadata",
)
CSV_PAGE = 1000


@router.get(
    "/{wallet_id}/operations",
    response_model=OperationsPage,
    summary="List a wallet's operations (its ledger), filtered, oldest or newest first; JSON pages or CSV",
    responses={
        **problems(404, 422, 503),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
)
async def list_operations(
    request: Request,
    wallet_id: UUID,
    limit: Annotated[int, DigitsOnly, Query(ge=1, le=1000, description="Page size (JSON).")] = 100,
    after: Annotated[
        int | None,
        DigitsOnly,
        Query(
            ge=0,
            le=2**63 - 1,
            description="The previous page's next_after: entries past it in the chosen order (seq > after "
            "oldest first, seq < after newest first). Absent: from the start.",
        ),
    ] = None,
    type: Annotated[
        list[EntryKind] | None, Query(description="Only these kinds (repeatable: type=DEPOSIT&type=WITHDRAW).")
    ] = None,
    since: Annotated[
        datetime | None, Rfc3339, Query(description="Entries at or after (RFC 3339, with offset).")
    ] = None,
    until: Annotated[
        datetime | None, Rfc3339, Query(description="Entries at or before (RFC 3339, with offset).")
    ] = None,
    transfer_id: Annotated[UUID | None, Query(description="Only the legs of this transfer.")] = None,
    order: Annotated[
        Literal["asc", "desc"], Query(description="asc: oldest first (default); desc: newest first.")
    ] = "asc",
) -> Response:
    db = database(request)
    filters: dict[str, Any] = {
        "types": type,
        "since": since,
        "until": until,
        "transfer_id": transfer_id,
        "descending": order == "desc",
    }
    if "text/csv" in request.headers.get("accept", ""):
        first = await db.list_operations(wallet_id, after, CSV_PAGE, **filters)  # 404 and 422 before streaming
        return StreamingResponse(
            _csv(db, wallet_id, first, filters), media_type="text/csv; charset=utf-8", headers={"Vary": "Accept"}
        )
    rows = await db.list_operations(wallet_id, after, limit, **filters)
    items = [Operation.model_construct(**_operation_fields(r)) for r in rows]
    page = OperationsPage.model_construct(
        items=items, limit=limit, next_after=items[-1].seq if len(items) == limit else None
    )
    return json_response(page, headers={"Vary": "Accept"})


async def _csv(db: Database, wallet_id: UUID, rows: list[Any], filters: dict[str, Any]) -> AsyncIterator[str]:
    """The whole filtered list as RFC 4180 CSV (CRLF, quoted as needed), a page of the database at a time:
    memory stays bounded whatever the ledger's length."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    while True:
        for r in rows:
            writer.writerow(
                (
                    r["operation_id"],
                    r["wallet_id"],
                    r["seq"],
                    r["operation_type"],
                    format(r["amount"], "f"),
                    format(r["balance_after"], "f"),
                    r["currency"],
                    r["created_at"].isoformat().replace("+00:00", "Z"),
                    r["transfer_id"],
                    r["counterparty_wallet_id"] or "",
                    "" if r["metadata"] is None else json.dumps(metadata_out(r["metadata"]), separators=(",", ":")),
                )
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < CSV_PAGE:
            return
        rows = await db.list_operations(wallet_id, rows[-1]["seq"], CSV_PAGE, **filters)
