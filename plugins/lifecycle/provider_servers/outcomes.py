"""Simulated recipient behaviour: which events a message produces, drawn deterministically by seed.

The probabilities are the knobs the demo turns to give the world a known truth (open and click rates,
bounces, STOP replies); the same seed and message id always give the same outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from lifecycle.provider_servers.seeding import unit_draw

T = TypeVar("T")

UNDELIVERED_ERROR_CODES = (30003, 30005, 30006, 30007)  # unreachable, unknown handset, landline, filtered
FAILED_ERROR_CODE = 30008  # unknown error


def _strict(cls: type[T], data: Mapping[str, Any]) -> T:
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; known: {sorted(known)}")
    return cls(**data)


def _check_probabilities(values: Mapping[str, float]) -> None:
    bad = {k: v for k, v in values.items() if not 0.0 <= v <= 1.0}
    if bad:
        raise ValueError(f"probabilities must be in [0, 1]: {bad}")


@dataclass(frozen=True)
class EmailOutcomes:
    """Per-recipient chances. ``open``/``unsubscribe``/``spamreport`` are given delivery, ``click`` given an open."""

    dropped: float = 0.01
    bounce: float = 0.02
    deferred: float = 0.03
    open: float = 0.35
    click: float = 0.3
    unsubscribe: float = 0.01
    spamreport: float = 0.001

    def __post_init__(self) -> None:
        _check_probabilities(asdict(self))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EmailOutcomes:
        return _strict(cls, data)


@dataclass(frozen=True)
class SmsOutcomes:
    """Per-message chances; ``stop_reply`` is given delivery (the recipient answers STOP)."""

    failed: float = 0.01
    undelivered: float = 0.02
    stop_reply: float = 0.0

    def __post_init__(self) -> None:
        _check_probabilities(asdict(self))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SmsOutcomes:
        return _strict(cls, data)


def email_events(outcomes: EmailOutcomes, seed: int, key: str) -> list[str]:
    """SendGrid event names for one recipient, in the order SendGrid reports them."""

    def happens(name: str, chance: float) -> bool:
        return unit_draw(seed, key, name) < chance

    if happens("dropped", outcomes.dropped):
        return ["dropped"]
    if happens("bounce", outcomes.bounce):
        return ["processed", "bounce"]
    events = ["processed", *(["deferred"] if happens("deferred", outcomes.deferred) else []), "delivered"]
    if happens("open", outcomes.open):
        events.append("open")
        if happens("click", outcomes.click):
            events.append("click")
    if happens("unsubscribe", outcomes.unsubscribe):
        events.append("unsubscribe")
    if happens("spamreport", outcomes.spamreport):
        events.append("spamreport")
    return events


def sms_statuses(outcomes: SmsOutcomes, seed: int, key: str) -> tuple[list[tuple[str, int | None]], bool]:
    """Status callbacks after ``queued`` (status, ErrorCode) and whether the recipient replies STOP."""
    draw = unit_draw(seed, key, "status")
    if draw < outcomes.failed:
        return [("failed", FAILED_ERROR_CODE)], False
    if draw < outcomes.failed + outcomes.undelivered:
        code = UNDELIVERED_ERROR_CODES[int(unit_draw(seed, key, "code") * len(UNDELIVERED_ERROR_CODES))]
        return [("sent", None), ("undelivered", code)], False
    return [("sent", None), ("delivered", None)], unit_draw(seed, key, "stop") < outcomes.stop_reply
