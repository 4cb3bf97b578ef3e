"""The dbt project on PostgreSQL computes what it computes on DuckDB.

One 1,000-customer business (with an ops ledger export) is built as of the same day twice: on DuckDB,
reading the Parquet files in place, and on PostgreSQL, after ``lifecycle load-postgres``'s loader copies
the same files into the landing and ops schemas of a private database. Every model must hold the same
rows on both, with two documented allowances:

- ``personalization_json`` is compared as parsed JSON: the databases print JSON differently (spaces,
  ``99`` for the double DuckDB prints as ``99.0``), which Python's ``json.loads`` reads as equal values;
- ``send_after`` / ``send_before`` are not compared in a time zone whose UTC offset on the as-of date
  differs between the two databases' time zone rules (DuckDB bundles ICU's tzdata, PostgreSQL uses the
  system's; they can be releases apart). Such a zone must differ by one whole-hour shift (a rule change),
  the same for both channels' windows; anything else fails.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from lifecycle.landing.postgres_load import LandingLoadError, load_landing
from tests.conftest import private_postgres
from tests.test_dbt_project import (
    AS_OF,
    PROJECT,
    DbtRun,
    dbt_build,
    first_primary_contact,
    run_dbt,
    succeeded,
    write_ledger,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

PG_SCHEMA = "lifecycle"
TIME_ZONE_DEPENDENT = ("send_after", "send_before")


def dbt_build_postgres(url: sa.URL, work: Path) -> DbtRun:
    """`dbt build --target postgres` as of AS_OF into the database at ``url`` (profiles.yml's LIFECYCLE_PG_*)."""
    env = {
        "LIFECYCLE_PG_HOST": url.host or "127.0.0.1",
        "LIFECYCLE_PG_PORT": str(url.port or 5432),
        "LIFECYCLE_PG_USER": url.username or "postgres",
        "LIFECYCLE_PG_PASSWORD": url.password or "",
        "LIFECYCLE_PG_DBNAME": url.database or "",
        "LIFECYCLE_PG_SCHEMA": PG_SCHEMA,
        # the sources' default schemas, which the loader fills
        "LIFECYCLE_LANDING_SCHEMA": "landing",
        "LIFECYCLE_OPS_SCHEMA": "ops",
    }
    return run_dbt(env, "postgres", AS_OF, work)


Rows = dict[str, list[dict[str, Any]]]


def _value(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        return round(float(value), 9)
    return value


def duckdb_models(warehouse: Path) -> Rows:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        listed = "select table_name from information_schema.tables where table_schema = 'main'"
        names = [row[0] for row in conn.execute(listed).fetchall()]
        out = {}
        for name in names:
            cursor = conn.execute(f'select * from main."{name}"')
            columns = [d[0] for d in cursor.description]
            out[name] = [dict(zip(columns, map(_value, row), strict=True)) for row in cursor.fetchall()]
    return out


def postgres_models(url: sa.URL) -> Rows:
    with psycopg.connect(_conninfo(url)) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s", (PG_SCHEMA,)
            )
        ]
        out = {}
        for name in names:
            cursor = conn.execute(f'select * from {PG_SCHEMA}."{name}"')
            columns = [d.name for d in cursor.description or ()]
            out[name] = [dict(zip(columns, map(_value, row), strict=True)) for row in cursor.fetchall()]
    return out


def _conninfo(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def zones_with_other_rules(duck: Rows, pg: Rows) -> set[str]:
    """Time zones whose send windows differ between the databases by one whole-hour rule shift."""

    def windows(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, Any]]:
        return {(r["time_zone"], r["channel"]): (r["send_after"], r["send_before"]) for r in rows}

    duck_windows, pg_windows = windows(duck["int_send_windows"]), windows(pg["int_send_windows"])
    assert duck_windows.keys() == pg_windows.keys()
    shifts: dict[str, set[timedelta]] = {}
    for key, (after, before) in duck_windows.items():
        other_after, other_before = pg_windows[key]
        shifts.setdefault(key[0], set()).update({other_after - after, other_before - before})
    differing = {zone: found for zone, found in shifts.items() if found != {timedelta(0)}}
    for zone, found in differing.items():
        assert len(found) == 1, f"{zone}: send windows shift by {found} between the databases"
        [shift] = found
        assert shift % timedelta(hours=1) == timedelta(0) and abs(shift) <= timedelta(hours=2), (zone, shift)
    return set(differing)


def comparable(rows: list[dict[str, Any]], other_rules: set[str]) -> list[tuple]:
    """Rows as sorted tuples, JSON parsed and time-zone-rule dependent instants dropped (module docstring)."""
    out = []
    for row in rows:
        row = dict(row)
        if isinstance(row.get("personalization_json"), str):
            # every number as a float: PostgreSQL prints the double 99.0 as 99
            row["personalization_json"] = json.loads(row["personalization_json"], parse_int=float)
        if row.get("time_zone") in other_rules:
            for column in TIME_ZONE_DEPENDENT:
                row.pop(column, None)
        out.append(tuple(sorted((k, json.dumps(v, sort_keys=True, default=str)) for k, v in row.items())))
    return sorted(out)


@dataclass(frozen=True)
class BothBuilds:
    duck: Rows
    pg: Rows
    loaded: dict[str, int]
    pg_output: str
    pg_again: Rows  # PostgreSQL's models after a second build over the first
    pg_again_output: str


@pytest.fixture(scope="module")
def both_builds(
    small_business_landing: Path, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> BothBuilds:
    """The models of both databases for the same landing folder and as-of date, and PostgreSQL's again
    after a second build over the first, as every scheduled run after a deployment's first does."""
    work = tmp_path_factory.mktemp("dbt_postgres")
    landing = work / "landing"
    shutil.copytree(small_business_landing, landing)
    write_ledger(landing, *first_primary_contact(landing))
    warehouse = work / "warehouse.duckdb"
    with private_postgres(pg_url, "lifecycle_dbt") as raw_url:
        url = sa.make_url(raw_url)
        loaded = load_landing(_conninfo(url), landing, PROJECT)
        with ThreadPoolExecutor(max_workers=2) as pool:
            duck_run = pool.submit(dbt_build, landing, warehouse, AS_OF, work / "duckdb")
            pg_run = pool.submit(dbt_build_postgres, url, work / "postgres")
            succeeded(duck_run.result())
            pg_output = succeeded(pg_run.result()).output
        pg = postgres_models(url)
        again = dbt_build_postgres(url, work / "postgres_again")
        pg_again = postgres_models(url)
    return BothBuilds(duckdb_models(warehouse), pg, loaded, pg_output, pg_again, again.output)


def test_loader_copies_every_contract_table(both_builds: BothBuilds) -> None:
    loaded = both_builds.loaded
    assert loaded["landing.customers"] == 1000
    assert loaded["ops.messages"] > 0
    assert set(loaded) >= {"landing.usage_events", "ops.delivery_events", "ops.suppressions"}


def test_postgres_build_runs_every_node(both_builds: BothBuilds) -> None:
    assert "ERROR=0" in both_builds.pg_output and "SKIP=0" in both_builds.pg_output


def test_a_second_postgres_build_replaces_every_model(both_builds: BothBuilds) -> None:
    """PostgreSQL drops a replaced view's dependants with it (views over views: the consents under the
    primary contacts); the second build must put every one back and hold the same rows."""
    assert "ERROR=0" in both_builds.pg_again_output and "SKIP=0" in both_builds.pg_again_output, (
        both_builds.pg_again_output[-6000:]
    )
    again, first = both_builds.pg_again, both_builds.pg
    assert set(again) == set(first)
    assert [m for m in sorted(first) if comparable(again[m], set()) != comparable(first[m], set())] == []


def test_marts_python_reads_agree(both_builds: BothBuilds) -> None:
    duck, pg = both_builds.duck, both_builds.pg
    stages = {r["customer_id"]: r["lifecycle_stage"] for r in duck["customers"]}
    assert stages == {r["customer_id"]: r["lifecycle_stage"] for r in pg["customers"]}

    def keys(model: str, rows: Rows) -> set[str]:
        return {r["message_key"] for r in rows[model]}

    for model in ("due_messages", "held_out_messages"):
        assert keys(model, duck), f"{model} is empty: the comparison would prove nothing"
        assert keys(model, duck) == keys(model, pg), model
    assert comparable(duck["usage_milestones"], set()) == comparable(pg["usage_milestones"], set())


def test_every_model_holds_the_same_rows(both_builds: BothBuilds) -> None:
    duck, pg = both_builds.duck, both_builds.pg
    assert set(duck) == set(pg)
    other_rules = zones_with_other_rules(duck, pg)
    differing = [
        model
        for model in sorted(duck)
        if comparable(duck[model], other_rules) != comparable(pg[model], other_rules)
    ]
    assert not differing, f"models that differ between DuckDB and PostgreSQL: {differing}"


def test_loader_names_the_bad_file_and_column_and_replaces_nothing(
    small_business_landing: Path, pg_url: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(small_business_landing, landing)
    write_ledger(landing, *first_primary_contact(landing))
    with private_postgres(pg_url, "lifecycle_load") as raw_url:
        conninfo = _conninfo(sa.make_url(raw_url))
        load_landing(conninfo, landing, PROJECT)
        customers = pq.read_table(landing / "customers.parquet")
        as_text = pa.array([str(value) for value in customers["created_at"].to_pylist()])
        pq.write_table(
            customers.set_column(customers.schema.get_field_index("created_at"), "created_at", as_text),
            landing / "customers.parquet",
        )
        with pytest.raises(
            LandingLoadError, match=r"customers\.parquet: column `created_at` has type string"
        ):
            load_landing(conninfo, landing, PROJECT)
        pq.write_table(customers.drop_columns(["industry"]), landing / "customers.parquet")
        with pytest.raises(LandingLoadError, match=r"customers\.parquet: column\(s\) industry missing"):
            load_landing(conninfo, landing, PROJECT)
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("select count(*) from landing.customers").fetchone() == (1000,)
