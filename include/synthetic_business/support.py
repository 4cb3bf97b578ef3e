"""Support tickets: bigger and more engaged customers ask more, frustration spikes before churn, and
resolution time depends on priority, with a few tickets stalled for weeks (still open at the end).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lifecycle.landing.contract import TICKET_CATEGORIES, TICKET_PRIORITIES

from .accounts import Accounts
from .arrow_out import id_strings, id_width, pick, timestamps
from .billing import Spans
from .ids import Ids, lookup
from .timeline import US_PER_DAY, US_PER_HOUR, US_PER_MONTH, Window

_TICKETS_PER_MONTH_BY_BAND = np.array([0.08, 0.12, 0.2, 0.35, 0.6])
_ENGAGEMENT_FACTOR = np.array([1.3, 1.0, 0.7, 0.4])
_TICKETS_BEFORE_CHURN = 0.6  # extra tickets in the month before a cancellation
_CATEGORY_SHARE = [0.18, 0.30, 0.34, 0.12, 0.06]
# Priority (low, normal, high, urgent) given the category.
_PRIORITY_BY_CATEGORY = np.array(
    [
        [0.30, 0.55, 0.12, 0.03],
        [0.15, 0.50, 0.27, 0.08],
        [0.50, 0.45, 0.05, 0.00],
        [0.60, 0.40, 0.00, 0.00],
        [0.00, 0.10, 0.40, 0.50],
    ]
)
_MEDIAN_RESOLUTION_HOURS = np.array([96.0, 40.0, 12.0, 4.0])
# Share of tickets that stall for weeks (waiting on a fix), by category: bugs and outages most.
_STALLED_SHARE = np.array([0.02, 0.10, 0.01, 0.02, 0.08])


def _opened_times(
    rng: np.random.Generator, spans: Spans, accounts: Accounts, end_us: int
) -> tuple[np.ndarray, np.ndarray]:
    stop = np.minimum(spans.stop_us, end_us)
    months = (stop - spans.start_us) / US_PER_MONTH
    rate = (
        _TICKETS_PER_MONTH_BY_BAND[accounts.band[spans.customer]]
        * _ENGAGEMENT_FACTOR[accounts.engagement[spans.customer]]
    )
    usual = rng.poisson(rate * months)
    frustrated = np.where(spans.churned, rng.poisson(_TICKETS_BEFORE_CHURN, len(stop)), 0)
    span = np.concatenate(
        [np.repeat(np.arange(len(stop)), usual), np.repeat(np.arange(len(stop)), frustrated)]
    )
    window_start = np.concatenate(
        [
            np.repeat(spans.start_us, usual),
            np.repeat(np.maximum(spans.start_us, stop - 30 * US_PER_DAY), frustrated),
        ]
    )
    window_stop = stop[span]
    opened = window_start + (rng.random(len(span)) * (window_stop - window_start)).astype(np.int64)
    return spans.customer[span], opened


def support_ticket_columns(
    rng: np.random.Generator, accounts: Accounts, spans: Spans, window: Window, ids: Ids
) -> dict[str, pa.Array]:
    customer, opened = _opened_times(rng, spans, accounts, window.end_us)
    order = np.lexsort((opened, customer))
    customer, opened = customer[order], opened[order]
    rows = len(customer)
    category = rng.choice(len(TICKET_CATEGORIES), size=rows, p=_CATEGORY_SHARE)
    bins = np.cumsum(_PRIORITY_BY_CATEGORY, axis=1)[category]
    priority = np.minimum((rng.random(rows)[:, None] >= bins).sum(1), len(TICKET_PRIORITIES) - 1)
    hours = _MEDIAN_RESOLUTION_HOURS[priority] * rng.lognormal(0.0, 1.1, rows)
    stalled = rng.random(rows) < _STALLED_SHARE[category]
    hours[stalled] += rng.uniform(20, 150, int(stalled.sum())) * 24
    closed = opened + (hours * US_PER_HOUR).astype(np.int64)
    return {
        "ticket_id": id_strings("tkt_", np.arange(1, rows + 1), id_width(rows)),
        "customer_id": lookup(ids.customer, customer),
        "opened_at": timestamps(opened),
        "closed_at": timestamps(closed, null=closed > window.end_us),
        "priority": pick(TICKET_PRIORITIES, priority),
        "category": pick(TICKET_CATEGORIES, category),
    }
