"""An ASGI app built on its first request, for hosts that import it early (Airflow loads plugins when
any of its processes starts, and reading a connection there may query the metadata database)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send


class DeferredApp:
    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None
        self._lock = threading.Lock()

    def _built(self) -> ASGIApp:
        with self._lock:
            if self._app is None:
                self._app = self._build()
            return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app or await anyio.to_thread.run_sync(self._built)
        await app(scope, receive, send)
