"""Answers that are not HTTP answers: a reset socket, or a request held until the client gives up.

ASGI has no way to drop a connection, so the uvicorn protocol is subclassed to put each connection's
transport in the request scope (``scope["state"]``, the per-request copy of the server state). A
reset sets SO_LINGER to zero before aborting, so the client sees ECONNRESET, not a clean close.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TRANSPORT = "lifecycle.provider_servers.transport"


class TransportInScopeProtocol(HttpToolsProtocol):
    """Uvicorn's HTTP protocol, exposing the connection's transport to the application."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.app_state = {**self.app_state, _TRANSPORT: transport}
        super().connection_made(transport)


def _reset(scope: Scope) -> None:
    transport: asyncio.Transport = scope["state"][_TRANSPORT]
    if transport.is_closing():
        return
    sock: Any = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class ConnectionReset(Response):
    """Close the socket with a TCP reset instead of answering."""

    def __init__(self) -> None:
        super().__init__(status_code=599)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _reset(scope)
        await _until_disconnect(receive)  # lets uvicorn see the disconnect instead of a missing answer


class HeldThenDropped(Response):
    """Hold the request (the client times out) for up to ``seconds``, then reset it if still open.

    The hold ends early when the client disconnects or the server shuts down (``closing``).
    """

    def __init__(self, seconds: float, closing: asyncio.Event) -> None:
        super().__init__(status_code=599)
        self._seconds = seconds
        self._closing = closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        waiters = {
            asyncio.ensure_future(_until_disconnect(receive)),
            asyncio.ensure_future(self._closing.wait()),
        }
        _, pending = await asyncio.wait(waiters, timeout=self._seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        _reset(scope)
        await _until_disconnect(receive)
