"""Time arithmetic on numpy arrays: microseconds since the Unix epoch, days since the epoch, and months.

Every timestamp in the generator is an int64 count of microseconds (UTC), so the simulation runs on
plain integer arrays and converts to Arrow only when a table is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
DAYS_PER_MONTH = 30.4375
US_PER_MONTH = DAYS_PER_MONTH * US_PER_DAY
_EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; Feb 29 becomes Feb 28 in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Window:
    """The simulated history: every event happens between ``start`` 00:00 and ``end`` 23:59:59.999999 UTC."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"start date {self.start} is after end date {self.end}")

    @property
    def first_day(self) -> int:
        return day_number(self.start)

    @property
    def last_day(self) -> int:
        return day_number(self.end)

    @property
    def days(self) -> int:
        return self.last_day - self.first_day + 1

    @property
    def start_us(self) -> int:
        return self.first_day * US_PER_DAY

    @property
    def end_us(self) -> int:
        """The last microsecond of the end date: nothing may happen after it."""
        return (self.last_day + 1) * US_PER_DAY - 1

    def leap_days(self) -> list[int]:
        """Day numbers of every Feb 29 inside the window."""
        found = []
        for year in range(self.start.year, self.end.year + 1):
            try:
                leap = date(year, 2, 29)
            except ValueError:
                continue
            if self.start <= leap <= self.end:
                found.append(day_number(leap))
        return found


# Day number of the first day of each month from 1900 to 2400: months become integer lookups.
_FIRST_MONTH = np.datetime64("1900-01", "M")
_MONTH_STARTS = (
    np.arange(_FIRST_MONTH, np.datetime64("2400-01", "M")).astype("datetime64[D]").astype(np.int64)
)


def split_months(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers as (month index, 0-based day of month), for repeated month arithmetic."""
    month = np.searchsorted(_MONTH_STARTS, days, side="right") - 1
    return month, days - _MONTH_STARTS[month]


def join_months(month: np.ndarray, day_of_month: np.ndarray) -> np.ndarray:
    """The day number of ``day_of_month`` in ``month``, clamped to the month's last day."""
    month_length = _MONTH_STARTS[month + 1] - _MONTH_STARTS[month]
    return _MONTH_STARTS[month] + np.minimum(day_of_month, month_length - 1)


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Shift day numbers by whole months, clamping to the month's last day (Jan 31 + 1 = Feb 28 or 29).

    Billing periods are counted from a fixed anchor (anchor + k months), so a Feb 29 annual start
    renews on Feb 28 and a Jan 31 monthly start renews on Feb 28, then Mar 31.
    """
    month, day_of_month = split_months(days)
    return join_months(month + months, day_of_month)
