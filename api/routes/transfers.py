"""Transfer endpoints: money between two wallets of one currency, and any transfer read by its id
(deposits and withdrawals are transfers with the outside world)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Request, Response

from api.domain import TransferRequest, raise_for
from api.jsonbody import DecimalJSONRoute
from api.routes.common import IdempotencyKey, database, json_response, metadata_out, post, problems
from api.schemas import ReversalRequest, ReversalResult, TransferRequestBody, TransferResult, TransferView

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"], route_class=DecimalJSONRoute)


@router.post(
    "",
    status_code=201,
    response_model=TransferResult,
    summary="Move money from one wallet to another (same currency)",
    responses={**problems(400, 404, 422, 503), 201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def create_transfer(request: Request, body: TransferRequestBody, key: IdempotencyKey) -> Response:
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
    key: IdempotencyKey,
    body: Annotated[ReversalRequest | None, Body()] = None,
) -> Response:
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
