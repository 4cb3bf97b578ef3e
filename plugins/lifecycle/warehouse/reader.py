"""Read-only access to the DuckDB warehouse. dbt is its only writer; Python never opens it read-write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb


class WarehouseUnavailable(RuntimeError):
    pass


@contextmanager
def read_only(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    if not warehouse_path.exists():
        raise WarehouseUnavailable(
            f"warehouse {warehouse_path} does not exist: run dbt build first (make demo, or the daily DAG)"
        )
    try:
        conn = duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseUnavailable(
            f"cannot open {warehouse_path} read-only ({exc}); is a dbt run still writing it?"
        ) from exc
    try:
        yield conn
    finally:
        conn.close()


def qualified_name(conn: duckdb.DuckDBPyConnection, model: str) -> str:
    """The schema-qualified name of a dbt model, wherever the project's schema settings put it."""
    rows = conn.execute(
        "select table_schema from information_schema.tables where table_name = ? order by table_schema",
        [model],
    ).fetchall()
    if not rows:
        raise WarehouseUnavailable(f"model {model!r} is not in the warehouse: does `dbt build` select it?")
    if len(rows) > 1:
        raise WarehouseUnavailable(f"model {model!r} exists in several schemas {[r[0] for r in rows]}")
    return f'"{rows[0][0]}"."{model}"'


def fetch_model(warehouse_path: Path, model: str) -> list[dict[str, Any]]:
    with read_only(warehouse_path) as conn:
        cursor = conn.execute(f"select * from {qualified_name(conn, model)}")
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
