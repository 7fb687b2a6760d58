"""How `python -m api` serves: uvicorn's httptools protocol plus a deadline for a request to arrive.

uvicorn closes idle keep-alive connections, but not one that sends part of a request (or nothing) and
stalls: each such connection is held forever (slowloris). Here a request must arrive whole, headers
and body, within `request_timeout` seconds of its first byte, or of the connection's opening if
nothing came yet; otherwise the connection is dropped. Time the API spends answering does not count.
An app waiting for the rest of a body then sees a disconnect and handles nothing."""

from asyncio import TimerHandle, Transport
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.settings import get_settings


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    request_timeout: float | None = None  # None: the settings' request_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: TimerHandle | None = None
        self._timeout = self.request_timeout if self.request_timeout is not None else get_settings().request_timeout

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self._timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.logger.info("dropped a connection whose request did not arrive within %g s", self._timeout)
            self.transport.close()


def protocol_with_timeout(seconds: float) -> type[DeadlineHttpToolsProtocol]:
    """The protocol with its own deadline (for servers started in-process, e.g. by the tests)."""
    return type("DeadlineHttpToolsProtocol", (DeadlineHttpToolsProtocol,), {"request_timeout": seconds})
