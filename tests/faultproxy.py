"""A TCP proxy for fault tests: passes bytes through, and when armed cuts the connection right after
the database has committed a call but before the reply reaches the client (the ambiguous failure)."""

import asyncio
import contextlib
import struct

SYNC = b"S\x00\x00\x00\x04"


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.trigger: bytes | None = None
        self.cuts = 0
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    def arm(self, trigger: bytes) -> None:
        """The next connection that executes a statement containing `trigger` loses its link when the
        server says ReadyForQuery after it: the implicit transaction has committed, the reply is lost."""
        self.trigger = trigger

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.target)
        state = {"watching": False}

        async def upstream() -> None:
            while data := await client_r.read(65536):
                # The statement's execution: its text together with a Sync (the prepare step
                # that precedes it ends with Flush, and commits nothing).
                if self.trigger and self.trigger in data and SYNC in data:
                    self.trigger = None
                    state["watching"] = True
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def downstream() -> None:
            buf = b""
            while data := await server_r.read(65536):
                if state["watching"]:
                    buf += data
                    # Walk whole messages: type byte + int32 length (which counts itself).
                    while len(buf) >= 5:
                        kind, length = buf[0:1], struct.unpack("!I", buf[1:5])[0]
                        if len(buf) < 1 + length:
                            break
                        buf = buf[1 + length :]
                        if kind == b"Z":  # ReadyForQuery after Sync: committed
                            self.cuts += 1
                            client_w.transport.abort()
                            server_w.transport.abort()
                            return
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        with contextlib.suppress(ConnectionError, OSError):
            await asyncio.gather(upstream(), downstream())
        for w in (client_w, server_w):
            w.transport.abort()
