"""Transfer endpoints: money between two wallets of one currency, and any transfer read by its id
(deposits and withdrawals are transfers with the outside world)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.batcher import Batcher
from api.domain import BulkPosting, TransferRequest, raise_for
from api.errors import SQLSTATES
from api.jsonbody import DecimalJSONRoute
from api.routes.common import KeyHeader, database, json_response, metadata_out, post, problems, request_key, server_key
from api.schemas import (
    BULK_RESPONSE_JSON,
    BulkProblemDict,
    BulkRequest,
    BulkResponse,
    BulkTransferResultDict,
    ReversalRequest,
    ReversalResult,
    TransferRequestBody,
    TransferResult,
    TransferView,
)

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"], route_class=DecimalJSONRoute)
BULK_PATH = "/api/v1/transfers/bulk"


@router.post(
    "",
    status_code=201,
    response_model=TransferResult,
    summary="Move money from one wallet to another (same currency)",
    responses={**problems(400, 404, 422, 503), 201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def create_transfer(request: Request, body: TransferRequestBody, idempotency_key: KeyHeader = None) -> Response:
    key = request_key(request, idempotency_key)
    transfer = TransferRequest(
        body.from_wallet_id, body.to_wallet_id, body.amount, key.value, key.ephemeral, body.metadata
    )
    row = raise_for(await post(request, transfer))
    result = TransferResult.model_construct(
        **_transfer_fields(row), balance=row["balance_after"], replayed=row["replayed"]
    )
    headers = {"Location": f"{router.prefix}/{row['transfer_id']}"}
    if row["replayed"]:
        headers["Idempotent-Replayed"] = "true"
    return json_response(result, 201, headers)


@router.post(
    "/bulk",
    response_model=BulkResponse,
    summary="Post up to 1,000 transfers, deposits and withdrawals in one request (one database call)",
    responses=problems(400, 404, 413, 422, 503),
)
async def post_bulk(request: Request, body: BulkRequest) -> Response:
    """Each element is applied as a single request would be (its own key, replays, locking, currency
    rules), in order, in one transaction. One result per element: its success body, or its problem.
    With `atomic`, one refused element fails the request (its problem names it) and nothing is written."""
    transfers = [
        TransferRequest(
            e.from_wallet_id,
            e.to_wallet_id,
            e.amount,
            e.idempotency_key or server_key(),
            e.idempotency_key is None,
            e.metadata,
        )
        for e in body.transfers
    ]
    batcher: Batcher | None = request.app.state.batcher
    if batcher is not None and not body.atomic:  # a busy wallet's bulk requests share its calls
        rows = await batcher.apply(BulkPosting.of(transfers))
    else:
        owner = transfers[0].from_wallet_id or transfers[0].to_wallet_id
        assert owner is not None  # every element names a wallet (BulkTransferElement)
        rows = await database(request).post_transfers(owner, transfers, atomic=body.atomic)
    results: list[BulkTransferResultDict | BulkProblemDict] = []
    for row in rows:
        if row["error_code"]:
            kind = SQLSTATES[row["error_code"]]
            balance = row["balance_after"] if row["error_code"] == "WL002" else None
            results.append(
                {
                    "status": kind.status,
                    "code": kind.code,
                    "title": kind.title,
                    "detail": row["error_detail"],
                    "balance": None if balance is None else format(balance, "f"),
                }
            )
        else:
            results.append(
                {
                    "id": row["transfer_id"],
                    "kind": row["kind"],
                    "from_wallet_id": row["from_wallet_id"],
                    "to_wallet_id": row["to_wallet_id"],
                    "amount": row["amount"],
                    "currency": row["currency"],
                    "metadata": metadata_out(row["metadata"]),
                    "created_at": row["created_at"],
                    "balance": row["balance_after"],
                    "replayed": row["replayed"],
                    "status": 201,
                }
            )
    return Response(BULK_RESPONSE_JSON.dump_json({"results": results}), media_type="application/json")


@router.api_route("/bulk", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def bulk_other_methods() -> None:
    """/bulk is not a transfer id: other methods get 405, not the 422 of GET /{transfer_id}."""
    raise StarletteHTTPException(405, headers={"Allow": "POST"})


@router.get("/{transfer_id}", response_model=TransferView, summary="Read a transfer", responses=problems(404, 422, 503))
async def get_transfer(request: Request, transfer_id: UUID) -> Response:
    row = await database(request).get_transfer(transfer_id)
    return json_response(
        TransferView.model_construct(
            **_transfer_fields(row),
            reverses=row["reverses"],
            reversed_amount=row["reversed_amount"],
            hold_id=row["hold_id"],
        )
    )


@router.post(
    "/{transfer_id}/reversal",
    status_code=201,
    response_model=ReversalResult,
    summary="Reverse a transfer, all or part of it: the money moves back as a new transfer linked to it",
    responses={**problems(400, 404, 422, 503), 201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def reverse_transfer(
    request: Request,
    transfer_id: UUID,
    body: Annotated[ReversalRequest | None, Body()] = None,
    idempotency_key: KeyHeader = None,
) -> Response:
    key = request_key(request, idempotency_key)
    body = body or ReversalRequest()
    row = await database(request).reverse_transfer(transfer_id, body.amount, key.value, body.metadata)
    result = ReversalResult.model_construct(
        **_transfer_fields(row),
        reverses=row["reverses"],
        original_reversed_amount=row["original_reversed_amount"],
        balance=row["balance_after"],
        replayed=row["replayed"],
    )
    headers = {"Location": f"{router.prefix}/{row['transfer_id']}"}
    if row["replayed"]:
        headers["Idempotent-Replayed"] = "true"
    return json_response(result, 201, headers)


def _transfer_fields(row: Any) -> dict[str, Any]:
    return {
        "id": row["transfer_id"],
        "kind": row["kind"],
        "from_wallet_id": row["from_wallet_id"],
        "to_wallet_id": row["to_wallet_id"],
        "amount": row["amount"],
        "currency": row["currency"],
        "metadata": metadata_out(row["metadata"]),
        "created_at": row["created_at"],
    }
