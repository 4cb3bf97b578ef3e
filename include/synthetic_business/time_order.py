"""Rows that are generated customer by customer, handed back in time order with flat memory.

Real event data lands in time order (each day's events appended after the day before), and readers
depend on it: a query for the last 28 days skips every Parquet row group whose time range is older.
The generator builds usage chunk by chunk of customers, so each chunk's rows are cut into fixed
slabs of time and appended to one raw file per slab and column on disk; afterwards each slab is read
back alone and sorted. Memory holds one chunk, then one slab, never the whole table.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

from .timeline import US_PER_DAY

SLAB_DAYS = 28


class TimeOrderedSpill:
    """Collects row chunks (numpy columns of fixed dtypes) and yields them slab by slab, sorted by ``time``.

    The sort is stable, so rows at the same instant keep the order they were added in: the output
    depends only on the input, never on timing or threads.
    """

    def __init__(
        self,
        directory: Path,
        start_us: int,
        dtypes: dict[str, np.dtype],
        time: str,
        slab_days: int = SLAB_DAYS,
    ) -> None:
        self._temp = tempfile.TemporaryDirectory(prefix=".time-order-", dir=directory)
        self._root = Path(self._temp.name)
        self._start_us, self._slab_us = start_us, slab_days * US_PER_DAY
        self._dtypes, self._time = {name: np.dtype(dtype) for name, dtype in dtypes.items()}, time
        self._slabs: set[int] = set()

    def add(self, rows: dict[str, np.ndarray]) -> None:
        if set(rows) != set(self._dtypes):
            raise ValueError(f"columns {sorted(rows)} differ from {sorted(self._dtypes)}")
        slab = (np.asarray(rows[self._time], dtype=np.int64) - self._start_us) // self._slab_us
        if len(slab) and slab.min() < 0:
            raise ValueError("a row happens before the start of the window")
        order = np.argsort(slab, kind="stable")
        slab = slab[order]
        bounds = np.flatnonzero(np.diff(slab)) + 1
        for part in np.split(np.arange(len(slab)), bounds):
            if not len(part):
                continue
            number = int(slab[part[0]])
            self._slabs.add(number)
            picked = order[part]
            for name, dtype in self._dtypes.items():
                with open(self._root / f"{number:06d}.{name}", "ab") as file:
                    np.asarray(rows[name], dtype=dtype)[picked].tofile(file)

    def slabs(self) -> Iterator[dict[str, np.ndarray]]:
        """Each slab's rows, oldest slab first, sorted by time within the slab."""
        for number in sorted(self._slabs):
            columns = {
                name: np.fromfile(self._root / f"{number:06d}.{name}", dtype=dtype)
                for name, dtype in self._dtypes.items()
            }
            order = np.argsort(columns[self._time], kind="stable")
            yield {name: column[order] for name, column in columns.items()}

    def __enter__(self) -> TimeOrderedSpill:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._temp.cleanup()
