"""Run an ASGI app under uvicorn on a background thread, for tests, the demo and the CLI.

The socket is bound before the thread starts, so the URL (and a free port, when asked for port 0) is
known at once; ``start`` returns once uvicorn has finished its startup. ``closing`` is an asyncio
event set when ``stop`` begins, so requests held on purpose let go instead of delaying shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import uvicorn
from starlette.types import ASGIApp

from lifecycle.provider_servers.connection import TransportInScopeProtocol


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.closing = asyncio.Event()
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


class ServerThread:
    """One uvicorn server on a daemon thread, listening on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, name: str = "provider") -> None:
        self._app = app
        self._host = host
        self._port = port
        self._name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None

    @property
    def closing(self) -> asyncio.Event:
        assert self._server is not None and self._server.closing is not None, "server not started"
        return self._server.closing

    def start(self, timeout: float = 30.0) -> str:
        if self._server is not None:
            raise RuntimeError(f"{self._name} server already started at {self.base_url}")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        sock.listen(2048)
        config = uvicorn.Config(
            self._app,
            http=TransportInScopeProtocol,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=3,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"{self._name}-server", daemon=True
        )
        self._thread.start()
        if not self._server.ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"{self._name} server did not start on {self._host}:{self._port}")
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        self.base_url = f"http://{host}:{sock.getsockname()[1]}"
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if server.loop is not None and server.closing is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                server.loop.call_soon_threadsafe(server.closing.set)
        server.should_exit = True
        thread.join(timeout)
        self._server = self._thread = None
