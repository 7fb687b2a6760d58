"""JSON bodies parsed without floats: a JSON number becomes a Decimal, so 0.1 is exactly 0.10.
NaN and Infinity, which Python's json accepts but JSON does not, are malformed JSON here.
Bodies are read as JSON whatever their Content-Type says."""

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _no_constants(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)  # one, not one per request


def loads(body: bytes) -> Any:
    try:
        return _DECODER.decode(body.decode())
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8, absurd nesting
        raise json.JSONDecodeError(f"malformed JSON: {exc}", "", 0) from None


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
