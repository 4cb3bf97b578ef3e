"""When a message may go out, in the recipient's own clock."""

from __future__ import annotations

import functools
import importlib.resources
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FALLBACK_ZONE = "UTC"
# an IANA name: parts of letters, digits, "_", "-" and "+" (never "." or "..") joined by "/"
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")


@functools.cache
def pinned_zone(name: str) -> ZoneInfo | None:
    """The zone's rules from the pinned ``tzdata`` package, or None for a name it does not hold.

    Not ``ZoneInfo(name)``: that reads the machine's /usr/share/zoneinfo first, which can be releases
    behind (2025b on Debian 12, where British Columbia and Alberta still change clocks in November
    2026), while DuckDB, which computes ``send_after``/``send_before``, follows current rules. A moved
    window must use the same rules as the window it moves.
    """
    if not _ZONE_NAME.fullmatch(name):
        return None
    resource = importlib.resources.files("tzdata").joinpath("zoneinfo", *name.split("/"))
    try:
        with resource.open("rb") as rules:
            return ZoneInfo.from_file(rules, key=name)
    except (OSError, ValueError):  # no such zone (or a folder such as "America")
        return None


def resolve_zone(time_zone: str | None) -> tuple[ZoneInfo, bool]:
    """The recipient's zone, or UTC when it is missing or not a valid IANA name (second value False)."""
    zone = pinned_zone(time_zone) if time_zone else None
    if zone is not None:
        return zone, True
    return pinned_zone(FALLBACK_ZONE) or ZoneInfo(FALLBACK_ZONE), False


def window_opens_at(day: date, time_zone: str | None, local_start: time) -> datetime:
    """The UTC instant at which ``local_start`` happens on ``day`` in the recipient's zone (DST-aware)."""
    zone, _ = resolve_zone(time_zone)
    return datetime.combine(day, local_start, tzinfo=zone).astimezone(UTC)


def local_day(instant: datetime, time_zone: str | None) -> date:
    """The recipient's calendar day at ``instant``."""
    zone, _ = resolve_zone(time_zone)
    return instant.astimezone(zone).date()


def next_window(
    send_after: datetime, send_before: datetime, time_zone: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """The same local window (wall-clock opening and closing) on the first later day on which it has
    not closed by ``now``: a message that missed its window waits for the next morning rather than
    going out at night. Wall-clock times are kept across a daylight-saving change, so the UTC
    instants shift by the change.
    """
    zone, _ = resolve_zone(time_zone)
    opens, closes = send_after.astimezone(zone), send_before.astimezone(zone)
    now_local_day = now.astimezone(zone).date()
    days = max(1, (now_local_day - closes.date()).days)
    while True:
        shift = timedelta(days=days)
        new_closes = datetime.combine(closes.date() + shift, closes.time(), tzinfo=zone)
        if new_closes > now:
            new_opens = datetime.combine(opens.date() + shift, opens.time(), tzinfo=zone)
            return new_opens.astimezone(UTC), new_closes.astimezone(UTC)
        days += 1
