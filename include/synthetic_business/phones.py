"""Unique mobile numbers in E.164, drawn from each country's mobile ranges (see ``geography``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrow_out import id_strings
from .geography import COUNTRIES


def mobile_numbers(rng: np.random.Generator, country: np.ndarray) -> pa.StringArray:
    """One distinct mobile number per row, valid for the row's country code index."""
    order = np.argsort(country, kind="stable")
    pieces = []
    for number, spec in enumerate(COUNTRIES):
        rows = int(np.count_nonzero(country == number))
        if rows == 0:
            continue
        prefixes = np.array([int(prefix) for prefix in spec.mobile_prefixes], dtype=np.int64)
        prefix_digits = np.array([len(prefix) for prefix in spec.mobile_prefixes])
        subscriber_digits = spec.national_digits - prefix_digits
        space = 10 ** int(subscriber_digits.min()) - spec.subscriber_floor
        # Distinct subscriber digits per country make every number distinct, whatever its prefix.
        subscriber = spec.subscriber_floor + rng.choice(space, size=rows, replace=rows > space, shuffle=True)
        prefix = rng.integers(len(prefixes), size=rows)
        national = prefixes[prefix] * 10 ** subscriber_digits[prefix] + subscriber
        pieces.append(id_strings(f"+{spec.calling_code}", national, spec.national_digits))
    if not pieces:
        return pa.array([], pa.string())
    by_country = pa.concat_arrays(pieces)
    return by_country.take(np.argsort(order, kind="stable"))
