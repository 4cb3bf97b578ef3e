"""The generator's spill: rows added customer chunk by customer chunk come back in time order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthetic_business.time_order import TimeOrderedSpill
from synthetic_business.timeline import US_PER_DAY

DTYPES = {"who": np.int32, "at": np.int64, "value": np.float64}


def chunk(who: list[int], days: list[float], value: list[float]) -> dict[str, np.ndarray]:
    return {
        "who": np.array(who),
        "at": (np.array(days) * US_PER_DAY).astype(np.int64),
        "value": np.array(value),
    }


def test_rows_come_back_slab_by_slab_in_time_order_ties_in_the_order_added(tmp_path: Path) -> None:
    with TimeOrderedSpill(tmp_path, start_us=0, dtypes=DTYPES, time="at", slab_days=10) as spill:
        spill.add(chunk([1, 1, 1, 1], [25.0, 3.0, 12.5, 3.0], [0.1, 0.2, 0.3, 0.4]))
        spill.add(chunk([2, 2], [3.0, 0.5], [0.5, 0.6]))
        slabs = list(spill.slabs())
    assert [slab["at"].tolist() for slab in slabs] == [
        [int(0.5 * US_PER_DAY), 3 * US_PER_DAY, 3 * US_PER_DAY, 3 * US_PER_DAY],
        [int(12.5 * US_PER_DAY)],
        [25 * US_PER_DAY],
    ]
    # the three rows at day 3: customer 1's two in the order added, then customer 2's
    assert slabs[0]["value"].tolist() == [0.6, 0.2, 0.4, 0.5]
    assert slabs[0]["who"].dtype == np.int32 and slabs[0]["who"].tolist() == [2, 1, 1, 2]
    assert list(tmp_path.iterdir()) == [], "the spill files are removed"


def test_a_row_before_the_window_or_a_missing_column_is_refused(tmp_path: Path) -> None:
    with TimeOrderedSpill(tmp_path, start_us=US_PER_DAY, dtypes=DTYPES, time="at") as spill:
        with pytest.raises(ValueError, match="before the start of the window"):
            spill.add(chunk([1], [0.5], [1.0]))
        with pytest.raises(ValueError, match="columns"):
            spill.add({"who": np.array([1]), "at": np.array([2 * US_PER_DAY])})
        assert list(spill.slabs()) == []
