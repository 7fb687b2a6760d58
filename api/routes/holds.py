"""Hold endpoints (two-step payments): reserve money on a wallet, then capture it (all or part, as a
withdrawal or a transfer), void it, or let it expire. Each is one call of the hold functions."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Request, Response

from api.batcher import HoldBatcher
from api.domain import HoldItem, HoldRequest, raise_for
from api.jsonbody import DecimalJSONRoute
from api.routes.common import KeyHeader, database, json_response, metadata_out, problems, request_key
from api.schemas import CaptureHoldRequest, CreateHoldRequest, Hold, HoldResult, VoidHoldRequest

router = APIRouter(prefix="/api/v1", tags=["holds"], route_class=DecimalJSONRoute)
HOLDS = "/api/v1/holds"


def _hold_fields(row: Any) -> dict[str, Any]:
    return {
        "id": row["hold_id"],
        "wallet_id": row["wallet_id"],
        "amount": row["amount"],
        "currency": row["currency"],
        "status": row["status"],
        "captured_amount": row["captured_amount"],
        "transfer_id": row["capture_transfer_id"],
        "to_wallet_id": row["capture_to_wallet_id"],
        "expires_at": row["expires_at"],
        "created_at": row["created_at"],
        "closed_at": row["closed_at"],
        "metadata": metadata_out(row["metadata"]),
        "available_balance": row["available_balance"],
    }


def _result(row: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    if row["replayed"]:
        headers["Idempotent-Replayed"] = "true"
    return json_response(HoldResult.model_construct(**_hold_fields(row), replayed=row["replayed"]), status, headers)


@router.post(
    "/wallets/{wallet_id}/holds",
    status_code=201,
    response_model=HoldResult,
    summary="Reserve money on a wallet (a hold): capture, void or let it expire later",
    responses={**problems(400, 404, 422, 503), 201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def create_hold(
    request: Request, wallet_id: UUID, body: CreateHoldRequest, idempotency_key: KeyHeader = None
) -> Response:
    key = request_key(request, idempotency_key)
    seconds = body.expires_in_seconds or request.app.state.settings.hold_default_seconds
    item = HoldItem(wallet_id, HoldRequest(body.amount, seconds, key.value, key.ephemeral, body.metadata))
    batcher: HoldBatcher | None = request.app.state.hold_batcher
    if batcher is not None:
        row = raise_for(await batcher.apply(item))
    else:
        (row,) = await database(request).create_holds(wallet_id, [item.request])
        raise_for(row)
    return _result(row, 201, {"Location": f"{HOLDS}/{row['hold_id']}"})


@router.get("/holds/{hold_id}", response_model=Hold, summary="Read a hold", responses=problems(404, 422, 503))
async def get_hold(request: Request, hold_id: UUID) -> Response:
    return json_response(Hold.model_construct(**_hold_fields(await database(request).get_hold(hold_id))))


@router.post(
    "/holds/{hold_id}/capture",
    response_model=HoldResult,
    summary="Capture an active hold: take all or part of it, as a withdrawal or a transfer; release the rest",
    responses=problems(400, 404, 409, 422, 503),
)
async def capture_hold(
    request: Request,
    hold_id: UUID,
    body: Annotated[CaptureHoldRequest | None, Body()] = None,
    idempotency_key: KeyHeader = None,
) -> Response:
    key = request_key(request, idempotency_key)
    body = body or CaptureHoldRequest()
    row = await database(request).capture_hold(hold_id, body.amount, body.to_wallet_id, key.value, body.metadata)
    return _result(row)


@router.post(
    "/holds/{hold_id}/void",
    response_model=HoldResult,
    summary="Void an active hold: its money is available again, nothing moves",
    responses=problems(404, 409, 422, 503),
)
async def void_hold(
    request: Request,
    hold_id: UUID,
    body: Annotated[VoidHoldRequest | None, Body()] = None,
    idempotency_key: KeyHeader = None,
) -> Response:
    key = request_key(request, idempotency_key)
    return _result(await database(request).void_hold(hold_id, key.value))
