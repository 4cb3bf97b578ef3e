"""Product usage, aggregated to one row per customer, event type (and feature) and active week:
logins, features used by habit, invites when the team grows, the onboarding checklist, and weekly
seat and storage snapshots of accounts in use. Built in chunks of customers so memory stays flat, and
written in time order (time_order.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from lifecycle.landing.contract import FEATURES as ALL_FEATURES
from lifecycle.landing.contract import USAGE_EVENT_TYPES

from .accounts import Accounts
from .arrow_out import pick, timestamps
from .billing import Spans
from .catalog import FEATURES, ONBOARDING_FEATURE
from .geography import UTC_OFFSET_HOURS
from .ids import Ids, lookup
from .people import ContactBook
from .randomness import stream
from .time_order import TimeOrderedSpill
from .timeline import US_PER_DAY, US_PER_HOUR, Window

CHUNK_CUSTOMERS = 25_000
_WEEK_US = 7 * US_PER_DAY
_FIRST_MONDAY = 4  # day number of Monday 1970-01-05: weeks run Monday to Sunday
_SNAPSHOT_OFFSET_US = 3 * US_PER_HOUR  # the weekly snapshot job runs Mondays at 03:00 UTC
_ACTIVE_WEEK = np.array([0.92, 0.62, 0.30, 0.05])  # chance of any activity in a week, by engagement
_FEATURE_WEEK = np.array([0.6, 0.45, 0.3, 0.2])  # chance an adopted feature is used in an active week
_LOGINS_PER_SEAT = np.array([4.0, 2.5, 1.2, 0.5])
_CHURN_FADE_WEEKS = 6  # activity drops in the weeks before a cancellation
_ANONYMOUS_SHARE = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.1])  # API keys act for no one in particular
_NO_CONTACT = -1
# the simulated columns, as the spill stores them between simulation and time order
_ROW_DTYPES = {
    "customer": np.int32,
    "contact": np.int32,
    "at": np.int64,
    "kind": np.int8,
    "feature": np.int8,
    "quantity": np.float64,
}
_FEATURE_CODES = np.array([ALL_FEATURES.index(feature) for feature in FEATURES])

Rows = dict[str, np.ndarray]


def _week_of(us: np.ndarray) -> np.ndarray:
    return (us // US_PER_DAY - _FIRST_MONDAY) // 7


class _Weeks:
    """One row per (span, calendar week) overlapping the span, for the customers of one chunk."""

    def __init__(self, accounts: Accounts, spans: Spans, lo: int, hi: int, end_us: int) -> None:
        first, last = np.searchsorted(spans.customer, [lo, hi])
        start, stop = spans.start_us[first:last], np.minimum(spans.stop_us[first:last], end_us)
        first_week = _week_of(start)
        count = _week_of(stop) - first_week + 1
        span = np.repeat(np.arange(len(start)), count)
        self.offset_in_span = np.arange(len(span)) - np.repeat(np.cumsum(count) - count, count)
        self.customer = spans.customer[first:last][span]
        self.week_start = (_FIRST_MONDAY + 7 * (first_week[span] + self.offset_in_span)) * US_PER_DAY
        self.lo = np.maximum(self.week_start, start[span])
        self.hi = np.minimum(self.week_start + _WEEK_US - 1, stop[span])
        self.first_span = start[span] == accounts.created_us[self.customer]
        churned = spans.churned[first:last][span]
        self.fading = churned & (stop[span] - self.week_start < _CHURN_FADE_WEEKS * _WEEK_US)
        self.level = accounts.engagement[self.customer]
        self.utc_offset = UTC_OFFSET_HOURS[accounts.country[self.customer]]

    def __len__(self) -> int:
        return len(self.customer)


class _ChunkUsage:
    """Usage rows for the customers ``lo`` to ``hi``, one event family at a time."""

    def __init__(
        self, rng: np.random.Generator, accounts: Accounts, book: ContactBook, weeks: _Weeks, lo: int, hi: int
    ) -> None:
        self.rng, self.accounts, self.book, self.weeks = rng, accounts, book, weeks
        middle = np.minimum(weeks.week_start + _WEEK_US // 2, weeks.hi)
        self.seats = accounts.seats_at(weeks.customer, middle)
        self.previous_seats = accounts.seats_at(weeks.customer, middle - _WEEK_US)
        self.active = self._active_weeks(lo, hi)

    def _active_weeks(self, lo: int, hi: int) -> np.ndarray:
        """Whether each week saw any activity: habit by engagement, holiday-like gaps, fading before churn.

        The first week of every span is active (people try what they just bought)."""
        rng, weeks = self.rng, self.weeks
        customers = hi - lo
        created_week = _week_of(self.accounts.created_us[lo:hi])
        gap_start = created_week[:, None] + (rng.random((customers, 2)) * 150).astype(np.int64)
        gap_length = np.where(rng.random((customers, 2)) < 0.6, rng.geometric(0.25, (customers, 2)), 0)
        week = _week_of(weeks.week_start)[:, None]
        local = weeks.customer - lo
        in_gap = ((week >= gap_start[local]) & (week < gap_start[local] + gap_length[local])).any(1)
        chance = _ACTIVE_WEEK[weeks.level] * np.where(weeks.fading, 0.35, 1.0)
        return (weeks.offset_in_span == 0) | ((rng.random(len(weeks)) < chance) & ~in_gap)

    def _rows(
        self,
        week: np.ndarray,
        event_type: str,
        quantity: np.ndarray,
        *,
        at: np.ndarray | None = None,
        contact: np.ndarray | None = None,
        feature: np.ndarray | int = -1,
    ) -> Rows:
        """Rows for the week rows ``week``; by default at a working-hours moment, by someone active then."""
        weeks = self.weeks
        customer = weeks.customer[week]
        if at is None:
            at = self._working_moment(weeks.lo[week], weeks.hi[week], weeks.utc_offset[week])
        if contact is None:
            contact = self.book.actor(self.rng, customer, at, primary_share=0.5)
        return {
            "customer": customer,
            "contact": contact,
            "at": at,
            "kind": np.full(len(week), USAGE_EVENT_TYPES.index(event_type), np.int8),
            "feature": np.broadcast_to(np.asarray(feature, np.int8), len(week)),
            "quantity": np.asarray(quantity, np.float64),
        }

    def _working_moment(self, lo: np.ndarray, hi: np.ndarray, utc_offset: np.ndarray) -> np.ndarray:
        """A moment in [lo, hi] on a random day, in the customer's local working hours where possible."""
        rng = self.rng
        first_day, last_day = lo // US_PER_DAY, hi // US_PER_DAY
        day = first_day + (rng.random(len(lo)) * (last_day - first_day + 1)).astype(np.int64)
        local_hour = np.clip(rng.normal(14.0, 3.0, len(lo)), 7.0, 22.0)
        moment = day * US_PER_DAY + (((local_hour - utc_offset) % 24.0) * US_PER_HOUR).astype(np.int64)
        return np.clip(moment, lo, hi)

    def logins(self) -> Rows:
        """One row per active week; ``quantity`` counts the team's logins that week."""
        week = np.flatnonzero(self.active)
        per_seat = _LOGINS_PER_SEAT[self.weeks.level[week]]
        return self._rows(week, "login", np.maximum(1, self.rng.poisson(per_seat * self.seats[week])))

    def features(self) -> Rows:
        """A row per feature the account has adopted and used in an active week, with its use count."""
        weeks, rng = self.weeks, self.rng
        candidate = np.flatnonzero(self.active)
        volume = self.accounts.feature_rate[weeks.customer[candidate]] * self.seats[candidate, None] ** 0.7
        used = (volume > 0) & (rng.random(volume.shape) < _FEATURE_WEEK[weeks.level[candidate], None])
        row, feature = np.nonzero(used)
        rows = self._rows(
            candidate[row],
            "feature_used",
            1 + rng.poisson(volume[row, feature]),
            feature=_FEATURE_CODES[feature],
        )
        anonymous = rng.random(len(row)) < _ANONYMOUS_SHARE[feature]
        rows["contact"] = np.where(anonymous, _NO_CONTACT, rows["contact"])
        return rows

    def invites(self) -> Rows:
        """Invitations when the team grows: the founding team in the first week, new seats after."""
        weeks = self.weeks
        first_week = (weeks.offset_in_span == 0) & weeks.first_span
        invited = np.where(first_week, self.seats - 1, self.seats - self.previous_seats)
        week = np.flatnonzero(self.active & (invited > 0))
        return self._rows(week, "invite_sent", invited[week])

    def onboarding(self) -> Rows:
        """The onboarding checklist, completed once by the primary contact days after sign-up."""
        weeks = self.weeks
        done_at = self.accounts.onboarding_us[weeks.customer]
        week = np.flatnonzero(weeks.first_span & (done_at >= weeks.lo) & (done_at <= weeks.hi))
        return self._rows(
            week,
            "feature_used",
            np.ones(len(week)),
            at=done_at[week],
            contact=self.book.first[weeks.customer[week]],
            feature=ALL_FEATURES.index(ONBOARDING_FEATURE),
        )

    def snapshots(self) -> list[Rows]:
        """Seats and storage in use, taken Mondays 03:00 UTC for accounts in use the week before."""
        weeks = self.weeks
        snapshot_at = weeks.week_start + _SNAPSHOT_OFFSET_US
        previous_active = np.concatenate([[False], self.active[:-1]]) & (weeks.offset_in_span > 0)
        week = np.flatnonzero(previous_active & (snapshot_at >= weeks.lo) & (snapshot_at <= weeks.hi))
        customer, at = weeks.customer[week], snapshot_at[week]
        nobody = np.full(len(week), _NO_CONTACT)
        return [
            self._rows(week, "seats_snapshot", self.accounts.seats_at(customer, at), at=at, contact=nobody),
            self._rows(
                week, "storage_snapshot", self.accounts.storage_at(customer, at), at=at, contact=nobody
            ),
        ]

    def all_rows(self) -> Rows:
        parts = [self.onboarding(), self.logins(), self.features(), self.invites(), *self.snapshots()]
        return {column: np.concatenate([part[column] for part in parts]) for column in parts[0]}


def usage_batches(
    seed: int, accounts: Accounts, book: ContactBook, spans: Spans, window: Window, ids: Ids, spill_dir: Path
) -> Iterator[dict[str, pa.Array]]:
    """Usage events in time order, as real event data lands; event ids count up from 1 in that order.

    Rows are simulated chunk by chunk of customers (so the random streams, and the data, do not depend
    on the time order) and put in time order through a spill in ``spill_dir``.
    """
    with TimeOrderedSpill(spill_dir, window.start_us, _ROW_DTYPES, time="at") as spill:
        for chunk, lo in enumerate(range(0, accounts.count, CHUNK_CUSTOMERS)):
            hi = min(lo + CHUNK_CUSTOMERS, accounts.count)
            weeks = _Weeks(accounts, spans, lo, hi, window.end_us)
            spill.add(_ChunkUsage(stream(seed, "usage", chunk), accounts, book, weeks, lo, hi).all_rows())
        next_id = 1
        for rows in spill.slabs():
            count = len(rows["customer"])
            yield {
                "event_id": pa.array(np.arange(next_id, next_id + count, dtype=np.int64)),
                "customer_id": lookup(ids.customer, rows["customer"]),
                "contact_id": lookup(
                    ids.contact, np.maximum(rows["contact"], 0), null=rows["contact"] == _NO_CONTACT
                ),
                "occurred_at": timestamps(rows["at"]),
                "event_type": pick(USAGE_EVENT_TYPES, rows["kind"]),
                "feature": pick(ALL_FEATURES, np.maximum(rows["feature"], 0), null=rows["feature"] < 0),
                "quantity": pa.array(rows["quantity"]),
            }
            next_id += count
