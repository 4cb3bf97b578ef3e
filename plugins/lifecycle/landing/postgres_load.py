"""Load the landing folder's Parquet files into PostgreSQL, for dbt's ``postgres`` target.

On DuckDB dbt reads the Parquet files in place; PostgreSQL cannot, so this copies them into real tables:
the app tables into the landing schema (env LIFECYCLE_LANDING_SCHEMA, default ``landing``) and the ops
export into the ops schema (LIFECYCLE_OPS_SCHEMA, default ``ops``), the names dbt's sources read there.
Column types come from the contract dbt itself checks (``models/staging/__sources.yml``), so a file that
would fail the DuckDB build fails here, naming the file and the column, before anything is replaced.
All tables are replaced in one transaction: readers see the old load or the new one, never a mix.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml
from psycopg import sql

# contract data_type -> (PostgreSQL type, Arrow type the file's column is cast to before COPY)
TYPES: dict[str, tuple[str, pa.DataType]] = {
    "varchar": ("text", pa.string()),
    "integer": ("integer", pa.int32()),
    "bigint": ("bigint", pa.int64()),
    "double": ("double precision", pa.float64()),
    "boolean": ("boolean", pa.bool_()),
    "date": ("date", pa.date32()),
    "timestamp": ("timestamp without time zone", pa.timestamp("us")),
}
# which Arrow types satisfy a contract type: the families dbt's check_landing_contract accepts on DuckDB
_ACCEPTS: dict[str, Callable[[pa.DataType], bool]] = {
    "varchar": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "integer": pa.types.is_integer,
    "bigint": pa.types.is_integer,
    "double": lambda t: pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_integer(t),
    "boolean": pa.types.is_boolean,
    "date": pa.types.is_date,
    "timestamp": lambda t: pa.types.is_timestamp(t) and t.tz is None,
}
# the folder under the landing folder each source's files sit in, and its schema's environment variable
SOURCE_FOLDERS = {
    "app": ("", "LIFECYCLE_LANDING_SCHEMA", "landing"),
    "ops": ("ops", "LIFECYCLE_OPS_SCHEMA", "ops"),
}
SOURCES_FILE = "models/staging/__sources.yml"
_BATCH_ROWS = 100_000


class LandingLoadError(ValueError):
    """A landing file is missing or does not match the contract; the message names the file and column."""


@dataclass(frozen=True)
class SourceTable:
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, contract data_type) in contract order
    folder: Path  # files: <folder>/<name>.parquet and/or <folder>/<name>/*.parquet

    def files(self) -> list[Path]:
        single = self.folder / f"{self.name}.parquet"
        return ([single] if single.is_file() else []) + sorted((self.folder / self.name).glob("*.parquet"))


def contract_tables(landing_dir: Path, dbt_project_dir: Path) -> list[SourceTable]:
    """Every source table dbt reads, with its schema and columns, from dbt's sources file (the contract)."""
    declared = yaml.safe_load((dbt_project_dir / SOURCES_FILE).read_text())["sources"]
    tables = []
    for source in declared:
        subfolder, schema_var, default_schema = SOURCE_FOLDERS[source["name"]]
        schema = os.environ.get(schema_var, default_schema)
        for table in source["tables"]:
            columns = tuple((c["name"], c["data_type"]) for c in table["columns"])
            tables.append(SourceTable(schema, table["name"], columns, landing_dir / subfolder))
    return tables


def _batches(table: SourceTable) -> Iterator[pa.RecordBatch]:
    """The table's rows cast to the contract's types; raises LandingLoadError naming file and column."""
    files = table.files()
    if not files:
        raise LandingLoadError(
            f"landing table `{table.name}`: no file {table.folder / table.name}.parquet "
            f"or {table.folder / table.name}/*.parquet"
        )
    target = pa.schema([(name, TYPES[data_type][1]) for name, data_type in table.columns])
    for path in files:
        parquet = pq.ParquetFile(path)
        present = set(parquet.schema_arrow.names)
        missing = [name for name in target.names if name not in present]
        if missing:
            raise LandingLoadError(
                f"{path}: column(s) {', '.join(missing)} missing (contract of `{table.name}`)"
            )
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=target.names):
            arrays = []
            for field in target:
                column = batch.column(field.name)
                expected = dict(table.columns)[field.name]
                if not (pa.types.is_null(column.type) or _ACCEPTS[expected](column.type)):
                    raise LandingLoadError(
                        f"{path}: column `{field.name}` has type {column.type}, expected {expected}"
                    )
                try:
                    arrays.append(column if column.type == field.type else pc.cast(column, field.type))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise LandingLoadError(
                        f"{path}: column `{field.name}` does not fit {expected}: {exc}"
                    ) from None
            yield pa.RecordBatch.from_arrays(arrays, schema=target)


def _csv(batch: pa.RecordBatch) -> bytes:
    """CSV for COPY: nulls as unquoted empty fields, every string quoted (so '' stays an empty string)."""
    out = io.BytesIO()
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    pa_csv.write_csv(batch, out, write_options=options)
    return out.getvalue()


def _empty_table(cur: psycopg.Cursor, table: SourceTable, relation: sql.Identifier) -> None:
    """An empty table with the contract's columns. One that already has them is truncated, not dropped:
    dbt's staging views depend on it and stay valid; one with other columns is re-created (cascade:
    the views that read it are stale anyway and the next dbt build re-creates them)."""
    cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(table.schema)))
    cur.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (table.schema, table.name),
    )
    wanted = [(name, TYPES[data_type][0]) for name, data_type in table.columns]
    if cur.fetchall() == wanted:
        cur.execute(sql.SQL("truncate table {}").format(relation))
        return
    columns = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in wanted)
    cur.execute(sql.SQL("drop table if exists {} cascade").format(relation))
    cur.execute(sql.SQL("create table {} ({})").format(relation, columns))


def load_landing(conninfo: str, landing_dir: Path, dbt_project_dir: Path) -> dict[str, int]:
    """Replace every landing and ops table in PostgreSQL with the landing folder's files; rows per table."""
    tables = contract_tables(landing_dir, dbt_project_dir)
    # a missing file fails before the database is touched; a bad column fails mid-load and rolls back
    for table in tables:
        if not table.files():
            next(_batches(table))
    loaded: dict[str, int] = {}
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for table in tables:
            relation = sql.Identifier(table.schema, table.name)
            _empty_table(cur, table, relation)
            copy_sql = sql.SQL("copy {} from stdin with (format csv)").format(relation)
            rows = 0
            with cur.copy(copy_sql) as copy:
                for batch in _batches(table):
                    copy.write(_csv(batch))
                    rows += batch.num_rows
            loaded[f"{table.schema}.{table.name}"] = rows
    return loaded


def conninfo_from_env() -> str:
    """libpq connection settings from the variables dbt's ``postgres`` target reads (profiles.yml)."""
    settings = {
        "host": os.environ.get("LIFECYCLE_PG_HOST", "127.0.0.1"),
        "port": os.environ.get("LIFECYCLE_PG_PORT", "5432"),
        "user": os.environ.get("LIFECYCLE_PG_USER", "postgres"),
        "password": os.environ.get("LIFECYCLE_PG_PASSWORD", ""),
        "dbname": os.environ.get("LIFECYCLE_PG_DBNAME", "postgres"),
    }
    return psycopg.conninfo.make_conninfo(**{key: value for key, value in settings.items() if value})
