"""Export the operational store to Parquet in the landing folder, where dbt reads it as the ``ops``
source. The export is the only way operational data reaches the warehouse: dbt stays the DuckDB
file's single writer.

Growing tables are exported incrementally by watermark: each run writes one part file with the rows
changed since the previous run (minus a safety overlap, for transactions that committed late), and
dbt keeps the latest version of each key, so a row exported twice is harmless. Small tables whose
rows can also disappear (suppressions lifted by START) are exported whole. Every file is written to
a temporary name and renamed, so dbt never reads half a file; a table's first export always writes a
part, even an empty one with the full schema, so dbt's source always exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from lifecycle.ops_store.schema import consent_changes, delivery_events, messages, suppressions

_CHUNK_ROWS = 50_000
_TS = pa.timestamp("us")
_STR = pa.string()
# Rows whose transaction committed up to this long after a later-stamped row are still exported.
WATERMARK_OVERLAP = timedelta(minutes=5)
# Past this many part files a table is rewritten as one part, so dbt's scans stay fast.
COMPACT_AFTER_PARTS = 48
WATERMARKS_FILE = "_watermarks.json"


@dataclass(frozen=True)
class ExportSpec:
    name: str
    table: sa.Table
    schema: pa.Schema
    watermark: str | None  # the column that grows with every change; None: export the whole table


EXPORTS = (
    ExportSpec(
        "messages",
        messages,
        pa.schema(
            [
                ("message_key", _STR),
                ("enrollment_id", _STR),
                ("customer_id", _STR),
                ("contact_id", _STR),
                ("sequence", _STR),
                ("step", _STR),
                ("channel", _STR),
                ("template", _STR),
                ("state", _STR),
                ("attempts", pa.int32()),
                ("provider", _STR),
                ("provider_message_id", _STR),
                ("error_code", _STR),
                ("error_reason", _STR),
                ("planned_at", _TS),
                ("send_after", _TS),
                ("sending_at", _TS),
                ("sent_at", _TS),
                ("failed_at", _TS),
                ("skipped_at", _TS),
                ("unknown_at", _TS),
                ("updated_at", _TS),
                ("as_of_date", pa.date32()),
            ]
        ),
        watermark="updated_at",
    ),
    ExportSpec(
        "delivery_events",
        delivery_events,
        pa.schema(
            [
                ("provider", _STR),
                ("provider_event_id", _STR),
                ("message_key", _STR),
                ("provider_message_id", _STR),
                ("event_type", _STR),
                ("occurred_at", _TS),
                ("received_at", _TS),
            ]
        ),
        watermark="received_at",
    ),
    ExportSpec(
        "consent_changes",
        consent_changes,
        pa.schema(
            [
                ("change_id", pa.int64()),
                ("channel", _STR),
                ("address", _STR),
                ("status", _STR),
                ("source", _STR),
                ("evidence", _STR),
                ("recorded_at", _TS),
            ]
        ),
        watermark="recorded_at",
    ),
    ExportSpec(
        "suppressions",
        suppressions,
        pa.schema(
            [("channel", _STR), ("address", _STR), ("reason", _STR), ("source", _STR), ("created_at", _TS)]
        ),
        watermark=None,
    ),
)


def _naive_utc(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _read_watermarks(out_dir: Path) -> dict[str, str]:
    try:
        return json.loads((out_dir / WATERMARKS_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}  # no (or unreadable) state: export everything again; dbt deduplicates


def _write_atomically(path: Path, write) -> None:  # type: ignore[no-untyped-def]
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def _write_rows(
    engine: sa.Engine, spec: ExportSpec, statement: sa.Select, target: Path
) -> tuple[int, datetime | None]:
    """Stream the rows into one Parquet file; returns the row count and the highest watermark seen."""
    written, high = 0, None

    def write(partial: Path) -> None:
        nonlocal written, high
        with engine.connect() as conn, pq.ParquetWriter(partial, spec.schema) as writer:
            result = conn.execution_options(yield_per=_CHUNK_ROWS).execute(statement)
            for chunk in result.partitions():
                columns = [
                    pa.array([_naive_utc(row[i]) for row in chunk], type=field.type)
                    for i, field in enumerate(spec.schema)
                ]
                writer.write_table(pa.Table.from_arrays(columns, schema=spec.schema))
                written += len(chunk)
                if spec.watermark:
                    chunk_high = max(row._mapping[spec.watermark] for row in chunk)
                    high = chunk_high if high is None else max(high, chunk_high)
            if written == 0:
                writer.write_table(spec.schema.empty_table())

    _write_atomically(target, write)
    return written, high


def _export_incremental(
    engine: sa.Engine, spec: ExportSpec, out_dir: Path, since: datetime | None
) -> tuple[int, datetime | None]:
    table_dir = out_dir / spec.name
    table_dir.mkdir(parents=True, exist_ok=True)
    parts = sorted(table_dir.glob("part-*.parquet"))
    incremental = since is not None and 0 < len(parts) < COMPACT_AFTER_PARTS
    watermark_column = spec.table.c[spec.watermark]
    statement = sa.select(*(spec.table.c[name] for name in spec.schema.names)).order_by(watermark_column)
    if incremental:
        statement = statement.where(watermark_column >= since - WATERMARK_OVERLAP)
    target = table_dir / f"part-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}.parquet"
    count, high = _write_rows(engine, spec, statement, target)
    if incremental:
        if count == 0:  # nothing changed: keep the folder free of empty parts
            target.unlink()
        return count, high or since
    for old in parts:  # the new part holds every row: the older ones are redundant
        old.unlink(missing_ok=True)
    return count, high


def export_ops_store(engine: sa.Engine, out_dir: Path) -> dict[str, int]:
    """Export every operational table; returns rows written per table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    watermarks = _read_watermarks(out_dir)
    written: dict[str, int] = {}
    for spec in EXPORTS:
        if spec.watermark is None:
            columns = [spec.table.c[name] for name in spec.schema.names]
            written[spec.name], _ = _write_rows(
                engine, spec, sa.select(*columns), out_dir / f"{spec.name}.parquet"
            )
            continue
        since = datetime.fromisoformat(watermarks[spec.name]) if spec.name in watermarks else None
        written[spec.name], high = _export_incremental(engine, spec, out_dir, since)
        if high is not None:
            watermarks[spec.name] = high.isoformat()
    _write_atomically(
        out_dir / WATERMARKS_FILE, lambda path: path.write_text(json.dumps(watermarks, indent=2))
    )
    return written
