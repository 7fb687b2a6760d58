"""JSON bodies parsed strictly and without floats.

- A JSON number becomes a Decimal (0.1 is exactly 0.10), an integer an int. A number written with an
  exponent (1e2, 0e-16384) becomes an ExponentNumber: a Decimal that amounts refuse, so an amount has
  one written form whether it comes as a string or a number (see schemas.parse_money).
- A member name that appears twice in one object is malformed JSON: a money API does not guess which
  one was meant.
- NaN and Infinity, which Python's json accepts but JSON does not, are malformed JSON.
Bodies are read as JSON whatever their Content-Type says."""

import json
import re
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_INT_DIGITS = 100  # longer integers stay Decimals (Python refuses to parse ints over 4,300 digits)


class ExponentNumber(Decimal):
    """A JSON number written with an exponent; its value is exact, its form is not an amount's."""


def _number(text: str) -> Decimal:
    return Decimal(text) if _PLAIN_NUMBER.fullmatch(text) else ExponentNumber(text)


def _integer(text: str) -> int | Decimal:
    # -0 stays a Decimal: as an int it would lose its sign, and an amount would not see it.
    return int(text) if len(text) <= _MAX_INT_DIGITS and text != "-0" else Decimal(text)


def _no_constants(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise json.JSONDecodeError(f"member {name[:40]!r} appears more than once in an object", "", 0)
            seen.add(name)
    return obj


_DECODER = json.JSONDecoder(  # one, not one per request
    parse_float=_number, parse_int=_integer, parse_constant=_no_constants, object_pairs_hook=_unique_members
)


def loads(body: bytes) -> Any:
    try:
        return _DECODER.decode(body.decode())
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8, absurd nesting
        raise json.JSONDecodeError(f"malformed JSON: {str(exc)[:100]}", "", 0) from None


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class DecimalJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def decimal_json_handler(request: Request) -> Response:
            # Bodies are JSON whatever Content-Type says (curl -d sends a form type): a clear JSON
            # error beats a confusing one about forms.
            scope = request.scope
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
            return await handler(DecimalJSONRequest(scope, request.receive))

        return decimal_json_handler
