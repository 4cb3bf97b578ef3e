"""Webhook delivery from a background thread with bounded retries.

The send path only enqueues: a slow or failing receiver never delays an API answer. Each attempt is
signed afresh (SendGrid's signature covers a timestamp) and logged, so tests and the demo can see
what was delivered, and ``flush`` lets them wait for delivery without sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

Signer = Callable[[bytes], dict[str, str]]


@dataclass
class _Delivery:
    kind: str
    url: str
    body: bytes
    content_type: str
    sign: Signer
    attempt: int = 0


class WebhookSender:
    """One worker thread posting queued webhooks; a failed post is retried with doubling backoff."""

    def __init__(
        self, max_attempts: int = 4, backoff_s: float = 0.25, timeout_s: float = 5.0, max_log: int = 100_000
    ) -> None:
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, _Delivery]] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._log: deque[dict[str, Any]] = deque(maxlen=max_log)
        self._log_seq = 0
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker; deliveries still queued are dropped (call ``flush`` first to keep them)."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=self.timeout_s + 1)

    def submit(self, kind: str, url: str, body: bytes, content_type: str, sign: Signer) -> None:
        with self._cond:
            heapq.heappush(
                self._queue,
                (time.monotonic(), next(self._order), _Delivery(kind, url, body, content_type, sign)),
            )
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or in flight; False if that did not happen within ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout=timeout)

    def deliveries(self, since: int = 0) -> list[dict[str, Any]]:
        """Every attempt so far: kind, url, attempt number, HTTP status or error, and whether it is final."""
        with self._cond:
            return [entry for entry in self._log if entry["seq"] > since]

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s) as client:
            while True:
                with self._cond:
                    delivery = self._next_due()
                    if delivery is None:
                        return
                    self._in_flight += 1
                status, error = self._post(client, delivery)
                with self._cond:
                    self._in_flight -= 1
                    self._record(delivery, status, error)
                    self._cond.notify_all()

    def _next_due(self) -> _Delivery | None:
        """Block (holding the condition) until a delivery is due or the sender stops."""
        while not self._stopping:
            if self._queue and self._queue[0][0] <= time.monotonic():
                return heapq.heappop(self._queue)[2]
            self._cond.wait(timeout=self._queue[0][0] - time.monotonic() if self._queue else None)
        return None

    def _post(self, client: httpx.Client, delivery: _Delivery) -> tuple[int | None, str | None]:
        delivery.attempt += 1
        headers = {"Content-Type": delivery.content_type, **delivery.sign(delivery.body)}
        try:
            response = client.post(delivery.url, content=delivery.body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{exc.__class__.__name__}: {exc}"
        return response.status_code, None

    def _record(self, delivery: _Delivery, status: int | None, error: str | None) -> None:
        ok = status is not None and 200 <= status < 300
        retry = not ok and delivery.attempt < self.max_attempts
        if retry:
            due = time.monotonic() + self.backoff_s * 2 ** (delivery.attempt - 1)
            heapq.heappush(self._queue, (due, next(self._order), delivery))
        elif not ok:
            log.warning("giving up on %s webhook after %d attempts", delivery.kind, delivery.attempt)
        self._log_seq += 1
        self._log.append(
            {
                "seq": self._log_seq,
                "kind": delivery.kind,
                "url": delivery.url,
                "attempt": delivery.attempt,
                "status": status,
                "error": error,
                "final": not retry,
                "delivered": ok,
                "body": delivery.body.decode("utf-8", "replace"),
                "at": time.time(),
            }
        )
