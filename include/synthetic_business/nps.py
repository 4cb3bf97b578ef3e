"""NPS survey answers: paying customers are asked a month in and twice a year after; engaged
customers answer more often and score higher, and scores sour in the months before a cancellation.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .accounts import Accounts
from .arrow_out import id_strings, id_width, timestamps
from .billing import Spans
from .ids import Ids, lookup
from .people import ContactBook
from .timeline import US_PER_DAY, Window

_FIRST_SURVEY_US = 30 * US_PER_DAY
_SURVEY_EVERY_US = 182 * US_PER_DAY
_RESPONSE_RATE = np.array([0.40, 0.30, 0.20, 0.10])
_MEAN_SCORE = np.array([9.0, 8.2, 7.0, 5.5])
_SOUR_BEFORE_CHURN_US = 60 * US_PER_DAY
_ANGRY_SHARE = 0.07


def nps_columns(
    rng: np.random.Generator, accounts: Accounts, book: ContactBook, spans: Spans, window: Window, ids: Ids
) -> dict[str, pa.Array]:
    stop = np.minimum(spans.stop_us, window.end_us)
    surveys = np.maximum((stop - spans.start_us - _FIRST_SURVEY_US) // _SURVEY_EVERY_US + 1, 0)
    span = np.repeat(np.arange(len(stop)), surveys)
    nth = np.arange(len(span)) - np.repeat(np.cumsum(surveys) - surveys, surveys)
    asked = spans.start_us[span] + _FIRST_SURVEY_US + nth * _SURVEY_EVERY_US
    customer = spans.customer[span]
    answered = asked + (rng.exponential(1.5, len(span)) * US_PER_DAY).astype(np.int64) + 600_000_000
    responds = (rng.random(len(span)) < _RESPONSE_RATE[accounts.engagement[customer]]) & (
        answered <= stop[span]
    )
    span, customer, answered = span[responds], customer[responds], answered[responds]

    souring = spans.churned[span] & (spans.stop_us[span] - answered < _SOUR_BEFORE_CHURN_US)
    mean = _MEAN_SCORE[accounts.engagement[customer]] - 2.5 * souring
    score = np.clip(np.round(rng.normal(mean, 1.6)), 0, 10)
    angry = rng.random(len(span)) < _ANGRY_SHARE
    score[angry] = rng.integers(0, 5, int(angry.sum()))
    order = np.lexsort((answered, customer))
    customer, answered, score = customer[order], answered[order], score[order]
    contact = book.actor(rng, customer, answered, primary_share=0.7)
    return {
        "response_id": id_strings("nps_", np.arange(1, len(customer) + 1), id_width(len(customer))),
        "customer_id": lookup(ids.customer, customer),
        "contact_id": lookup(ids.contact, contact, null=rng.random(len(customer)) < 0.1),
        "responded_at": timestamps(answered),
        "score": pa.array(score.astype(np.int32)),
    }
