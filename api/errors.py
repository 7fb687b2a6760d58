"""Errors as RFC 9457 problem+json: the one SQLSTATE -> HTTP table and the exception handlers."""

import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.metrics import ERRORS

log = logging.getLogger("wallet.api")

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ErrorKind:
    status: int
    code: str
    title: str


# The SQLSTATEs of wallet.error_codes() (sql/error_codes.sql) and what HTTP makes of them. A test
# fails if this table and the database's drift apart.
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
}

# Errors of the HTTP layer itself, in the same vocabulary.
VALIDATION = ErrorKind(422, "validation_error", "the request is not valid")
UNAVAILABLE = ErrorKind(503, "service_unavailable", "the database is not reachable right now")
INTERNAL = ErrorKind(500, "internal_error", "internal error")
TOO_LARGE = ErrorKind(413, "payload_too_large", "request body too large")
HEADERS_TOO_LARGE = ErrorKind(431, "request_header_fields_too_large", "request headers too large")

# Which request field a database error is about, for the problem's `errors` list.
FIELD_OF_SQLSTATE = {
    "WL003": ("body", "amount"),
    "WL004": ("body", "operation_type"),
    "WL007": ("header", "Idempotency-Key"),
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


def unavailable(detail: str, retry_after: int) -> ProblemError:
    return ProblemError(UNAVAILABLE, detail, headers={"Retry-After": str(retry_after)})


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


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type")}
        for err in exc.errors()
    ]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.kind, exc.detail, exc.extra, exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
    return problem_response(request, VALIDATION, detail, {"errors": errors})


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = ErrorKind(exc.status_code, _http_code(exc.status_code), _http_title(exc.status_code))
    detail = exc.detail if isinstance(exc.detail, str) else kind.title
    return problem_response(request, kind, detail, headers=dict(exc.headers or {}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, INTERNAL, "an unexpected error occurred; it has been logged")


def _http_code(status: int) -> str:
    return {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: TOO_LARGE.code,
        415: "unsupported_media_type",
    }.get(status, f"http_{status}")


def _http_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
