"""Errors as RFC 9457 problem+json: the one SQLSTATE -> HTTP table and the exception handlers."""

import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.domain import Unavailable, WalletError
from api.metrics import ERRORS

log = logging.getLogger("wallet.api")

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ErrorKind:
    status: int
    code: str
    title: str


# The SQLSTATEs of wallet.error_codes() (sql/error_codes.sql), which holds each code's name, title and
# HTTP status too. A test fails if this table and the database's drift apart.
SQLSTATES: dict[str, ErrorKind] = {
    "WL001": ErrorKind(404, "wallet_not_found", "wallet not found"),
    "WL002": ErrorKind(400, "insufficient_funds", "insufficient funds"),
    "WL003": ErrorKind(422, "invalid_amount", "invalid amount"),
    "WL004": ErrorKind(422, "invalid_operation_type", "invalid operation type"),
    "WL005": ErrorKind(422, "idempotency_key_reused", "idempotency key reused with a different request"),
    "WL006": ErrorKind(400, "balance_limit_exceeded", "balance limit exceeded"),
    "WL007": ErrorKind(422, "invalid_idempotency_key", "invalid idempotency key"),
    "WL008": ErrorKind(409, "wallet_already_exists", "wallet already exists"),
    "WL009": ErrorKind(422, "invalid_argument", "invalid argument"),
    "WL010": ErrorKind(500, "ledger_append_only", "the ledger is append-only"),
    "WL011": ErrorKind(404, "transfer_not_found", "transfer not found"),
    "WL012": ErrorKind(422, "currency_mismatch", "currency mismatch"),
    "WL013": ErrorKind(422, "invalid_metadata", "invalid metadata"),
    "WL014": ErrorKind(422, "same_wallet", "source and destination are the same wallet"),
    "WL015": ErrorKind(422, "invalid_currency", "invalid currency"),
    "WL016": ErrorKind(404, "hold_not_found", "hold not found"),
    "WL017": ErrorKind(409, "hold_not_active", "the hold is no longer active"),
    "WL018": ErrorKind(422, "reversal_exceeds_original", "the reversal exceeds what remains of the original"),
}

# Errors of the HTTP layer itself, in the same vocabulary.
VALIDATION = ErrorKind(422, "validation_error", "the request is not valid")
UNAVAILABLE = ErrorKind(503, "service_unavailable", "the database is not reachable right now")
INTERNAL = ErrorKind(500, "internal_error", "internal error")
TOO_LARGE = ErrorKind(413, "payload_too_large", "request body too large")
HEADERS_TOO_LARGE = ErrorKind(431, "request_header_fields_too_large", "request headers too large")
CORS_REFUSED = ErrorKind(400, "cors_not_allowed", "cross-origin request not allowed")
# Statuses Starlette raises itself (unknown path, wrong method, ...), by status.
HTTP_KINDS: dict[int, ErrorKind] = {
    k.status: k
    for k in (
        ErrorKind(400, "bad_request", "bad request"),
        ErrorKind(404, "not_found", "not found"),
        ErrorKind(405, "method_not_allowed", "method not allowed"),
        TOO_LARGE,
        ErrorKind(415, "unsupported_media_type", "unsupported media type"),
    )
}
# Every code the HTTP layer itself may answer with: each has a page at /problems/{code}.
HTTP_LAYER_KINDS = (VALIDATION, UNAVAILABLE, INTERNAL, HEADERS_TOO_LARGE, CORS_REFUSED, *HTTP_KINDS.values())
INVALID_KEY = SQLSTATES["WL007"]
# Echoed client input is cut to this many characters (a problem never repeats a huge input back).
ECHO_LIMIT = 100

# Which request field a database error is about, for the problem's `errors` list.
FIELD_OF_SQLSTATE = {
    "WL003": ("body", "amount"),
    "WL004": ("body", "operation_type"),
    "WL007": ("header", "Idempotency-Key"),
    "WL012": ("body", "to_wallet_id"),
    "WL013": ("body", "metadata"),
    "WL014": ("body", "to_wallet_id"),
    "WL015": ("body", "currency"),
    "WL018": ("body", "amount"),
}
# pydantic error types that stand for a code of the database's vocabulary (422 with that code).
VALIDATION_CODES = {
    "invalid_amount": SQLSTATES["WL003"],
    "invalid_metadata": SQLSTATES["WL013"],
    "invalid_currency": SQLSTATES["WL015"],
}


@dataclass
class ProblemError(Exception):
    """An error the API answers with a problem document."""

    kind: ErrorKind
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def from_sqlstate(sqlstate: str, detail: str, **extra: Any) -> ProblemError:
    kind = SQLSTATES.get(sqlstate, INTERNAL)
    if sqlstate in FIELD_OF_SQLSTATE:
        extra.setdefault("errors", [{"loc": list(FIELD_OF_SQLSTATE[sqlstate]), "msg": detail}])
    return ProblemError(kind, detail, extra)


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """At most `limit` characters of untrusted text, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def problem_response(
    request: Request,
    kind: ErrorKind,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{kind.code}",
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
        "instance": request.url.path,
        "code": kind.code,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra or {})
    ERRORS.labels(kind.code).inc()
    return JSONResponse(body, status_code=kind.status, media_type=PROBLEM_JSON, headers=headers)


MAX_FIELD_ERRORS = 10


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """pydantic's errors, each with its location, message and type; client text in them shortened."""
    listed = []
    for err in exc.errors()[:MAX_FIELD_ERRORS]:
        msg = err.get("msg", "")
        if err.get("type") == "json_invalid" and err.get("ctx", {}).get("error"):
            msg = f"{msg}: {err['ctx']['error']}"
        listed.append(
            {
                "loc": [shorten(str(p), 40) for p in err.get("loc", ())],
                "msg": shorten(msg, 200),
                "type": err.get("type"),
            }
        )
    return listed


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.kind, exc.detail, exc.extra, exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    """422. When every error is about an amount, the problem is `invalid_amount`, whether the database
    or the request's form refused it: one code for every amount problem."""
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
    types = {e["type"] for e in errors}
    kind = VALIDATION_CODES[types.pop()] if len(types) == 1 and next(iter(types)) in VALIDATION_CODES else VALIDATION
    return problem_response(request, kind, detail, {"errors": errors})


async def _on_wallet_error(request: Request, exc: Exception) -> JSONResponse:
    """A refusal of the wallet functions, with the facts it carries (the balance for insufficient funds)."""
    assert isinstance(exc, WalletError)
    problem = from_sqlstate(exc.sqlstate, exc.detail)
    if exc.balance is not None:
        problem.extra["balance"] = format(exc.balance, "f")
    headers = {"Idempotent-Replayed": "true"} if exc.replayed else None  # a refusal answered again
    return problem_response(request, problem.kind, problem.detail, problem.extra, headers)


async def _on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unavailable)
    retry_after = str(request.app.state.settings.retry_after_seconds)
    return problem_response(request, UNAVAILABLE, exc.detail, headers={"Retry-After": retry_after})


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = HTTP_KINDS.get(exc.status_code) or ErrorKind(
        exc.status_code, f"http_{exc.status_code}", _http_title(exc.status_code)
    )
    detail = exc.detail if isinstance(exc.detail, str) else kind.title
    return problem_response(request, kind, detail, headers=dict(exc.headers or {}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, INTERNAL, "an unexpected error occurred; it has been logged")


def _http_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(WalletError, _on_wallet_error)
    app.add_exception_handler(Unavailable, _on_unavailable)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
