from datetime import UTC, date, datetime, time

import pytest

from lifecycle.planning.send_window import resolve_zone, window_opens_at

NINE = time(9, 0)


@pytest.mark.parametrize(
    ("day", "zone", "expected_utc"),
    [
        # New York: EDT (UTC-4) until 2026-11-01, EST (UTC-5) after.
        (date(2026, 10, 31), "America/New_York", datetime(2026, 10, 31, 13, 0, tzinfo=UTC)),
        (date(2026, 11, 2), "America/New_York", datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
        # London: BST (UTC+1) until 2026-10-25, GMT after.
        (date(2026, 10, 24), "Europe/London", datetime(2026, 10, 24, 8, 0, tzinfo=UTC)),
        (date(2026, 10, 26), "Europe/London", datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
        # Sydney: AEST (UTC+10) until 2026-10-04, AEDT (UTC+11) after: 9:00 local is the previous UTC day.
        (date(2026, 10, 3), "Australia/Sydney", datetime(2026, 10, 2, 23, 0, tzinfo=UTC)),
        (date(2026, 10, 5), "Australia/Sydney", datetime(2026, 10, 4, 22, 0, tzinfo=UTC)),
    ],
)
def test_window_follows_daylight_saving(day, zone, expected_utc):
    assert window_opens_at(day, zone, NINE) == expected_utc


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus_Mons", "../etc/passwd"])
def test_missing_or_invalid_zone_falls_back_to_utc(zone):
    resolved, valid = resolve_zone(zone)
    assert str(resolved) == "UTC" and valid is False
    assert window_opens_at(date(2026, 11, 20), zone, NINE) == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
