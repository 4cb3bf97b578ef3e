"""Fault injection and a capacity limit, the same for both vendors.

Each request gets at most one fault, chosen by a deterministic draw from (seed, request number), so a
given configuration fails the same requests on every run. The token bucket gives the server a
measurable capacity: above it requests are answered 429, as a rate-limited vendor would.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from lifecycle.provider_servers.seeding import unit_draw

# Faults in the order their fractions are laid out on [0, 1).
RATE_LIMITED = "rate_limited"  # 429 with the vendor's rate-limit answer
SERVER_ERROR = "server_error"  # 500
UNAVAILABLE = "unavailable"  # 503
TIMEOUT = "timeout"  # held without processing, then dropped: nothing was accepted
ACCEPTED_THEN_TIMEOUT = "accepted_then_timeout"  # processed and recorded, then held and dropped
CONNECTION_RESET = "connection_reset"  # socket closed (RST) without an answer
OVER_CAPACITY = "over_capacity"  # the token bucket was empty: 429
FAULT_KINDS = (RATE_LIMITED, SERVER_ERROR, UNAVAILABLE, TIMEOUT, ACCEPTED_THEN_TIMEOUT, CONNECTION_RESET)


@dataclass(frozen=True)
class FaultConfig:
    """How a server misbehaves. Fractions are shares of requests; they must add up to at most 1."""

    latency_ms: float = 0.0
    rate_limited: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    timeout: float = 0.0
    accepted_then_timeout: float = 0.0
    connection_reset: float = 0.0
    hold_seconds: float = 30.0  # how long a timeout holds a request: set it above the client's timeout
    capacity_rps: float | None = None  # token-bucket refill rate; None = unlimited
    burst: int | None = None  # bucket size; defaults to one second of capacity
    seed: int = 0

    def __post_init__(self) -> None:
        shares = [getattr(self, kind) for kind in FAULT_KINDS]
        if any(not 0.0 <= share <= 1.0 for share in shares) or sum(shares) > 1.0 + 1e-9:
            raise ValueError(f"fault fractions must be in [0, 1] and add up to at most 1, got {shares}")
        if self.latency_ms < 0 or self.hold_seconds <= 0:
            raise ValueError("latency_ms must be >= 0 and hold_seconds > 0")
        if self.capacity_rps is not None and self.capacity_rps <= 0:
            raise ValueError("capacity_rps must be positive (or None for no limit)")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from JSON, refusing unknown keys so a typo cannot silently disable a fault."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """What happens to one request before the vendor logic sees it."""

    latency_s: float
    fault: str | None
    retry_at: float  # unix seconds when a rate-limited client may retry (X-RateLimit-Reset)
    limit: int  # the advertised requests-per-second limit (X-RateLimit-Limit)


class TokenBucket:
    """Requests-per-second capacity: ``take`` fails once the burst is spent until tokens refill."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self) -> float:
        """0.0 if a token was taken, else the seconds until one is available (caller holds the lock)."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class FaultInjector:
    """Thread-safe holder of the current FaultConfig that decides each request's fate."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration; request numbering restarts so the new plan replays from its seed."""
        bucket = None
        if config.capacity_rps is not None:
            bucket = TokenBucket(config.capacity_rps, config.burst or max(1, math.ceil(config.capacity_rps)))
        with self._lock:
            self._config = config
            self._bucket = bucket
            self._count = 0

    def decide(self) -> Decision:
        with self._lock:
            config, bucket = self._config, self._bucket
            self._count += 1
            n = self._count
            wait = bucket.take() if bucket is not None else 0.0
        now = time.time()
        limit = bucket.burst if bucket is not None else 600
        if wait > 0:
            return Decision(config.latency_ms / 1000, OVER_CAPACITY, math.ceil(now + wait), limit)
        return Decision(config.latency_ms / 1000, _pick_fault(config, n), math.floor(now) + 1, limit)


def _pick_fault(config: FaultConfig, n: int) -> str | None:
    draw = unit_draw(config.seed, "fault", n)
    edge = 0.0
    for kind in FAULT_KINDS:
        edge += getattr(config, kind)
        if draw < edge:
            return kind
    return None
