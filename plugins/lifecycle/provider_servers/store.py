"""What a provider server accepted and what it was asked, kept in memory for tests and the demo to read.

Uvicorn's loop, the webhook worker and the caller's thread all touch it, so every access holds one
lock. Records are plain JSON-ready dicts; callers get copies of the lists and must treat the dicts as
read-only.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

Record = dict[str, Any]


class SandboxStore:
    """Accepted messages (kept until reset) and a bounded log of every vendor-endpoint request."""

    def __init__(self, max_requests: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._messages: list[Record] = []
        self._index: dict[str, list[Record]] = {}
        self._requests: deque[Record] = deque(maxlen=max_requests)
        self._request_seq = 0
        self._emitted: set[str] = set()

    def add_message(self, record: Record, aliases: Iterable[str] = ()) -> Record:
        """Keep an accepted message, found by ``record["id"]`` and by each alias (e.g. its X-Message-Id).

        ``seq`` orders messages for incremental reads.
        """
        with self._lock:
            record["seq"] = len(self._messages) + 1
            self._messages.append(record)
            for key in (record["id"], *aliases):
                self._index.setdefault(key, []).append(record)
            return record

    def message(self, key: str) -> Record | None:
        """The first message known by this id or alias."""
        with self._lock:
            found = self._index.get(key)
            return found[0] if found else None

    def update_message(self, message_id: str, **changes: Any) -> None:
        with self._lock:
            for record in self._index.get(message_id, []):
                record.update(changes)

    def append_event(self, message_id: str, event: str) -> None:
        with self._lock:
            for record in self._index.get(message_id, []):
                record.setdefault("events", []).append(event)

    def messages(self, since: int = 0) -> list[Record]:
        """Messages with ``seq`` greater than ``since``, oldest first."""
        with self._lock:
            return self._messages[since:]

    def claim_for_emission(self, keys: Iterable[str] | None) -> list[Record]:
        """Messages to emit outcomes for, now marked emitted: all not yet emitted, or those named (ids or aliases)."""
        with self._lock:
            if keys is None:
                candidates = [m for m in self._messages if m["id"] not in self._emitted]
            else:
                named = {m["id"]: m for key in keys for m in self._index.get(key, [])}
                candidates = list(named.values())
            self._emitted.update(m["id"] for m in candidates)
            return candidates

    def log_request(self, entry: Record) -> Record:
        with self._lock:
            self._request_seq += 1
            entry["seq"] = self._request_seq
            self._requests.append(entry)
            return entry

    def requests(self, since: int = 0) -> list[Record]:
        with self._lock:
            return [r for r in self._requests if r["seq"] > since]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._index.clear()
            self._requests.clear()
            self._emitted.clear()
