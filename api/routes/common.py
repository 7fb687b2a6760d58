"""What every endpoint shares: the Idempotency-Key, strict query integers, problem documentation,
the one database handle, the one batcher and the one way a model becomes a response."""

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import uuid4

from fastapi import Header, Request, Response
from pydantic import BaseModel, BeforeValidator
from pydantic_core import PydanticCustomError

from api.batcher import Batcher
from api.db import Database
from api.domain import TransferRequest
from api.errors import INVALID_KEY, ProblemError
from api.schemas import KEY_PATTERN, Problem

_KEY_TEXT = re.compile(KEY_PATTERN)


@dataclass(frozen=True, slots=True)
class Key:
    """The idempotency key of a request: the client's, or one the server made for its own retries."""

    value: str
    ephemeral: bool


KeyHeader = Annotated[
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
]


def request_key(request: Request, idempotency_key: str | None) -> Key:
    """The request's Idempotency-Key (the header, declared on the route as `KeyHeader`), checked; or a
    key the server makes when there is none."""
    if idempotency_key is None:
        return Key(server_key(), ephemeral=True)
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


def _digits_only(value: Any) -> Any:
    """Query integers are written in ASCII digits only: no sign, space, underscore or decimal point."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_parsing", "must be a whole number written in digits only")
    return value


DigitsOnly = BeforeValidator(_digits_only)

# RFC 3339: a date, "T" (or a space), a time with optional fractions, and an offset ("Z" or +hh:mm).
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
_RFC3339 = re.compile(RFC3339_PATTERN, re.ASCII)


def _rfc3339(value: Any) -> Any:
    """A moment as RFC 3339 writes it, with its offset: no date alone, no time without a zone, no epoch
    number (each of which pydantic would otherwise read, guessing). Fractions beyond microseconds are cut."""
    if value is None:
        return None
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise PydanticCustomError(
            "datetime_format", "must be an RFC 3339 timestamp with its offset, e.g. 2026-12-02T08:06:13Z"
        )
    text = value.upper().replace(" ", "T")
    if "." in text:  # at most 6 fraction digits for Python
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise PydanticCustomError("datetime_format", "is not a valid moment: {why}", {"why": str(exc)}) from None


Rfc3339 = BeforeValidator(_rfc3339)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Insufficient funds (`insufficient_funds`: the detail gives the balance and, when some of it is "
        "held, the available balance) or balance limit exceeded.",
        404: "No such wallet (`wallet_not_found`, the detail says which side of a transfer), transfer "
        "(`transfer_not_found`) or hold (`hold_not_found`).",
        413: "The request body is larger than the path allows (`payload_too_large`).",
        409: "The wallet exists already (`wallet_already_exists`), or the hold is no longer active "
        "(`hold_not_active`: the detail says whether it was captured, voided or expired).",
        422: "Invalid request: malformed JSON, a field error (`validation_error`, with `errors`), "
        "`invalid_amount`, `invalid_operation_type`, `invalid_idempotency_key`, `idempotency_key_reused`, "
        "`invalid_metadata`, `currency_mismatch`, `same_wallet`, `invalid_currency`.",
        503: "The database is unreachable or busy; retry after `Retry-After` seconds.",
    }
    return {
        s: {"model": Problem, "description": described[s], "content": {"application/problem+json": {}}}
        for s in statuses
    }


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


# Keys the server makes for requests that bring none: unique per process start and request, cheaper
# than a UUID per request. They make the server's own retries of the call safe.
_PROCESS = uuid4().hex
_SEQUENCE = itertools.count(1)


def server_key() -> str:
    return f"srv-{_PROCESS}-{next(_SEQUENCE)}"


def json_response(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The model as JSON, built from trusted database rows (model_construct, no re-validation); the
    route's response_model still documents it."""
    return Response(model.model_dump_json(), status_code=status, media_type="application/json", headers=headers)


async def post(request: Request, transfer: TransferRequest) -> Any:
    """One transfer request through the live batcher (or alone, with batching off): its result row."""
    batcher: Batcher | None = request.app.state.batcher
    if batcher is not None:
        return await batcher.apply(transfer)
    owner = transfer.from_wallet_id or transfer.to_wallet_id
    assert owner is not None
    (row,) = await database(request).post_transfers(owner, [transfer])
    return row


def metadata_out(value: Any) -> Any:
    """jsonb from the database (JSON text) as the JSON object it is. Its numbers were checked to be
    exact 64-bit floats on the way in, so plain json gives them back unchanged."""
    return json.loads(value) if isinstance(value, str) else value
