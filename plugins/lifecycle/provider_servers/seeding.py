"""Deterministic randomness: every draw and identifier is a pure function of a seed and a key.

Provider servers must look random to the client (message ids, sids, which request gets a 429) yet
replay exactly, so a failing test or a demo run can be reproduced from its seed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading


def unit_draw(seed: int, *key: object) -> float:
    """A uniform number in [0, 1) fixed by ``(seed, key)``."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class IdSequence:
    """Random-looking identifiers that replay per seed: the n-th id of a namespace is always the same."""

    def __init__(self, seed: int, namespace: str) -> None:
        self._seed = seed
        self._namespace = namespace
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def _next_digest(self, size: int) -> bytes:
        with self._lock:
            n = next(self._counter)
        return hashlib.blake2b(f"{self._seed}:{self._namespace}:{n}".encode(), digest_size=size).digest()

    def hex32(self) -> str:
        """32 lowercase hex digits, as in Twilio sids after their two-letter prefix."""
        return self._next_digest(16).hex()

    def token22(self) -> str:
        """22 URL-safe characters, the shape of SendGrid's X-Message-Id and sg_event_id."""
        return base64.urlsafe_b64encode(self._next_digest(16)).decode()[:22]
