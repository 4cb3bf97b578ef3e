"""From numpy columns to contract-shaped Parquet: id strings, coded strings, timestamps, atomic writes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lifecycle.landing.contract import Table

# Rows per Parquet row group for the big tables: bounds memory and lets readers skip and parallelise.
ROW_GROUP_ROWS = 1 << 20


def id_width(count: int) -> int:
    """Digits in zero-padded ids: at least 6, more when the table needs them."""
    return max(6, len(str(count)))


def id_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """``prefix`` + zero-padded ``numbers`` (e.g. ``cus_000042``), built as one buffer without Python loops."""
    numbers = np.asarray(numbers, dtype=np.int64)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    row_width = len(head) + width
    chars = np.empty((len(numbers), row_width), dtype=np.uint8)
    chars[:, : len(head)] = head
    remaining = numbers.copy()
    for position in range(row_width - 1, len(head) - 1, -1):
        chars[:, position] = remaining % 10 + ord("0")
        remaining //= 10
    offsets = np.arange(0, (len(numbers) + 1) * row_width, row_width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(numbers), pa.py_buffer(offsets), pa.py_buffer(chars))


def pick(values: Sequence[str], codes: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Strings by code (``values[codes]``); rows where ``null`` is true become null."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=null)
    return pa.array(list(values), pa.string()).take(indices)


def timestamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), pa.timestamp("us"), mask=null)


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32(), mask=null)


class TableFile:
    """Writes one contract table as ``<out_dir>/<table>.parquet``, batch by batch.

    Encoding and compression run on a background thread while the caller builds the next batch (one
    batch in flight, so memory stays bounded). Data goes to a temporary name and is renamed on
    success, so a reader never sees half a file.
    """

    def __init__(self, out_dir: Path, table: Table) -> None:
        self.table = table
        self.schema = table.arrow_schema()
        self.path = out_dir / table.file_name
        self._partial = out_dir / f".{table.file_name}.partial"
        self._writer = pq.ParquetWriter(self._partial, self.schema, compression="zstd")
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{table.name}")
        self._in_flight: Future[None] | None = None
        self.rows = 0

    def write(self, columns: dict[str, pa.Array]) -> None:
        """Append rows; ``columns`` must name exactly the contract columns."""
        if list(columns) != self.schema.names:
            raise ValueError(f"{self.table.name}: columns {list(columns)} differ from {self.schema.names}")
        batch = pa.Table.from_arrays(
            [array.cast(field.type) for array, field in zip(columns.values(), self.schema, strict=True)],
            schema=self.schema,
        )
        self._wait()
        self._in_flight = self._background.submit(
            self._writer.write_table, batch, row_group_size=ROW_GROUP_ROWS
        )
        self.rows += batch.num_rows

    def _wait(self) -> None:
        if self._in_flight is not None:
            self._in_flight.result()
            self._in_flight = None

    def __enter__(self) -> TableFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        succeeded = False
        try:
            self._wait()
            succeeded = exc_type is None
        finally:
            self._background.shutdown()
            self._writer.close()
            if succeeded:
                os.replace(self._partial, self.path)
            else:
                self._partial.unlink(missing_ok=True)
