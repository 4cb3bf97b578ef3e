"""Whether a run really sends: a backfill or catch-up of an old day must never reach customers by accident."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

# A run whose logical date is older than this is a backfill or catch-up: it simulates unless told to send.
LIVE_SEND_MAX_LAG = timedelta(days=2)


class SendMode(StrEnum):
    LIVE = "live"  # call the providers
    SIMULATE = "simulate"  # record what would have gone out as skipped; never call a provider


def resolve_send_mode(requested: str, as_of: date, today: date | None = None) -> SendMode:
    """``auto`` sends live only for a recent day; ``live`` and ``simulate`` are explicit choices."""
    if requested == "auto":
        today = today or datetime.now(UTC).date()
        return SendMode.LIVE if today - as_of <= LIVE_SEND_MAX_LAG else SendMode.SIMULATE
    try:
        return SendMode(requested)
    except ValueError:
        raise ValueError(f"send_mode must be auto, live or simulate, not {requested!r}") from None
