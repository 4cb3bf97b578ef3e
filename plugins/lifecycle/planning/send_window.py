"""When a message may go out, in the recipient's own clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FALLBACK_ZONE = "UTC"


def resolve_zone(time_zone: str | None) -> tuple[ZoneInfo, bool]:
    """The recipient's zone, or UTC when it is missing or not a valid IANA name (second value False)."""
    if time_zone:
        try:
            return ZoneInfo(time_zone), True
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(FALLBACK_ZONE), False


def window_opens_at(day: date, time_zone: str | None, local_start: time) -> datetime:
    """The UTC instant at which ``local_start`` happens on ``day`` in the recipient's zone (DST-aware)."""
    zone, _ = resolve_zone(time_zone)
    return datetime.combine(day, local_start, tzinfo=zone).astimezone(UTC)
