"""Check a landing folder against the raw data contract before dbt runs.

Every problem names the file, the column, up to five offending rows (by key) and a one-line fix.
DuckDB reads the Parquet files in place (an in-memory database that only reads them): each table
is scanned once for all its rules, foreign keys included, so tens of millions of rows take seconds.

With ``recent_days`` (LIFECYCLE_DBT_RECENT_TEST_DAYS in a deployment's daily runs), the row rules on the
event tables read by recent time ranges (usage_events) apply only to the rows of the last that many days
in the files, the rows a daily export adds, as dbt's daily tests do; their keys, their nulls (from the
Parquet statistics) and every other table are still checked in full.

Severity: ``error`` for what breaks the models or silently loses rows (missing files or columns,
incompatible types, bad keys, unknown codes, orphans); ``warning`` for what the pipeline survives row
by row (an unreachable phone number or address, an unknown time zone falls back to the country's
zone), for castable but lossy types, and for event files not in time order (slow, not wrong).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow.compute as pc

from .contract import CONTRACT, Column, Table

Severity = Literal["error", "warning"]
MAX_EXAMPLES = 5
_CONTRACT_DOC = "docs/data-contract.md"
# Event tables the daily build reads by recent time ranges: their row groups should follow that column.
_TIME_ORDERED = {"usage_events": "occurred_at"}
# Row groups whose time ranges add up to more than this many times the table's whole range overlap:
# a read of a few recent days cannot skip them. In time order the ranges add up to about 1.
_MAX_TIME_OVERLAP = 2.0
_MIN_ROW_GROUPS = 4  # fewer row groups have little to skip either way

# DuckDB types a file may use for each contract type: exact or safe widening, or castable but lossy.
_SAFE_TYPES = {
    "varchar": {"VARCHAR"},
    "timestamp": {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"},
    "date": {"DATE"},
    "double": {"DOUBLE", "FLOAT", "TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"},
    "integer": {"INTEGER", "TINYINT", "SMALLINT", "UTINYINT", "USMALLINT"},
    "bigint": {"BIGINT", "INTEGER", "TINYINT", "SMALLINT", "UTINYINT", "USMALLINT", "UINTEGER"},
    "boolean": {"BOOLEAN"},
}
_LOSSY_TYPES = {
    "timestamp": {"TIMESTAMP WITH TIME ZONE"},
    "double": {"BIGINT", "UBIGINT", "HUGEINT", "DECIMAL"},
    "integer": {"BIGINT", "UINTEGER", "UBIGINT", "HUGEINT"},
    "bigint": {"UBIGINT", "HUGEINT"},
}


@dataclass(frozen=True)
class LandingProblem:
    """One thing wrong with the landing data, phrased for the person who fixes the export."""

    file: str
    column: str | None
    problem: str
    fix: str
    examples: tuple[str, ...] = ()
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.column is None else f"{self.file} column {self.column}"
        examples = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"{self.severity.upper()} {where}: {self.problem}{examples}. Fix: {self.fix}"


def format_problems(problems: Iterable[LandingProblem]) -> str:
    """A summary line, then one line per problem, errors first."""
    ordered = sorted(problems, key=lambda problem: problem.severity != "error")
    if not ordered:
        return "Landing data matches the contract: no problems found."
    errors = sum(problem.severity == "error" for problem in ordered)
    summary = f"Landing data: {errors} error(s), {len(ordered) - errors} warning(s)."
    return "\n".join([summary, *(f"  {problem}" for problem in ordered)])


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in_list(values: Iterable[str]) -> str:
    return ", ".join(_literal(value) for value in values)


@dataclass(frozen=True)
class _Source:
    """A table's Parquet data as a DuckDB view, with the contract columns whose type allows checks.

    ``rows_view`` is what the row rules scan: the view, or its recent rows (``since``)."""

    table: Table
    label: str
    files: str
    view: str
    usable: frozenset[str]
    rows_view: str
    since: datetime | None = None

    @property
    def scope(self) -> str:
        """What the row rules covered, for a problem's text: nothing when every row."""
        return "" if self.since is None else f" since {self.since:%Y-%m-%d %H:%M}"

    def reference(self) -> str:
        """SQL naming a row in examples: its key, or its row number in the file when there is no key."""
        row_number = "'row ' || CAST(file_row_number + 1 AS VARCHAR)"
        key = self.table.key.name
        if key in self.usable:
            return f"coalesce(CAST({_quote(key)} AS VARCHAR), {row_number})"
        return row_number


@dataclass(frozen=True)
class _Rule:
    """A per-row rule: ``condition`` is SQL that is true for an offending row."""

    column: str
    condition: str
    problem: str
    fix: str
    severity: Severity = "error"
    counts_nulls: bool = False


class _Checker:
    def __init__(self, landing_dir: Path, recent_days: int | None) -> None:
        self.landing_dir = landing_dir
        self.recent_days = recent_days
        self.db = duckdb.connect(":memory:")
        self.db.execute("SET enable_progress_bar = false")
        # A lookup table, so the time zone rule is a hash join rather than hundreds of comparisons per row.
        self.db.execute("CREATE TABLE iana_time_zones (name VARCHAR PRIMARY KEY)")
        self.db.executemany(
            "INSERT INTO iana_time_zones VALUES (?)",
            [[zone] for zone in sorted(zoneinfo.available_timezones())],
        )
        self.problems: list[LandingProblem] = []
        self.sources: dict[str, _Source] = {}

    def report(
        self,
        label: str,
        column: str | None,
        problem: str,
        fix: str,
        examples: Iterable[str] = (),
        severity: Severity = "error",
    ) -> None:
        self.problems.append(LandingProblem(label, column, problem, fix, tuple(examples), severity))

    def rows(self, sql: str) -> list[tuple]:
        return self.db.execute(sql).fetchall()

    # -- files and schemas -------------------------------------------------------------------------
    def register(self, table: Table) -> None:
        file, folder = self.landing_dir / table.file_name, self.landing_dir / table.name
        if file.is_file():
            label, pattern = table.file_name, str(file)
        elif folder.is_dir() and any(folder.glob("*.parquet")):
            label, pattern = f"{table.name}/", str(folder / "*.parquet")
        else:
            self.report(
                table.file_name,
                None,
                "file is missing",
                f"export {table.name} as {table.file_name} (or {table.name}/*.parquet) with the columns "
                f"in {_CONTRACT_DOC}",
            )
            return
        view = _quote(f"landing_{table.name}")
        scan = f"read_parquet({_literal(pattern)}, union_by_name = true, file_row_number = true)"
        try:
            self.db.execute(f"CREATE VIEW {view} AS SELECT * FROM {scan}")
            described = self.rows(f"DESCRIBE {view}")
        except duckdb.Error as error:
            self.report(
                label,
                None,
                f"cannot be read as Parquet ({str(error).splitlines()[0]})",
                "rewrite the file with a Parquet writer (pyarrow, DuckDB, Spark)",
            )
            return
        types = {name: column_type for name, column_type, *_ in described if name != "file_row_number"}
        usable = frozenset(self._usable_columns(table, label, types))
        rows_view, since = view, None
        time_column = _TIME_ORDERED.get(table.name)
        if self.recent_days and time_column in usable:
            since = self._recent_since(pattern, view, time_column, self.recent_days)
            if since is not None:
                rows_view = _quote(f"landing_{table.name}_recent")
                self.db.execute(
                    f"CREATE VIEW {rows_view} AS SELECT * FROM {view} "
                    f"WHERE {_quote(time_column)} >= TIMESTAMP {_literal(since.isoformat(sep=' '))} "
                    f"OR {_quote(time_column)} IS NULL"
                )
        self.sources[table.name] = _Source(table, label, pattern, view, usable, rows_view, since)

    def _recent_since(self, files: str, view: str, column: str, days: int) -> datetime | None:
        """The start of the last ``days`` days of ``column`` in the files: a literal, so the scan
        skips the older row groups. The newest value comes from the Parquet statistics when they have it."""
        stats = f"parquet_metadata({_literal(files)}) WHERE path_in_schema = {_literal(column)}"
        newest = self.rows(f"SELECT max(TRY_CAST(stats_max_value AS TIMESTAMP)) FROM {stats}")[0][0]
        if newest is None:
            newest = self.rows(f"SELECT max({_quote(column)}) FROM {view}")[0][0]
        return None if newest is None else newest - timedelta(days=days)

    def _usable_columns(self, table: Table, label: str, types: dict[str, str]) -> list[str]:
        """Report missing, mistyped and extra columns; return the columns whose values can be checked."""
        usable = []
        for column in table.columns:
            found, wanted = types.get(column.name), column.type.upper()
            base_type = None if found is None else found.split("(")[0]
            if found is None:
                self.report(
                    label,
                    column.name,
                    f"column is missing (contract type {wanted})",
                    f"add {column.name} ({column.type}) to the export; see {_CONTRACT_DOC}",
                )
            elif base_type in _SAFE_TYPES[column.type]:
                usable.append(column.name)
            elif base_type in _LOSSY_TYPES.get(column.type, ()):
                usable.append(column.name)
                self.report(
                    label,
                    column.name,
                    f"type {found} is cast to {wanted} and may lose precision or its time zone",
                    f"write {column.name} as {wanted}",
                    severity="warning",
                )
            else:
                self.report(
                    label,
                    column.name,
                    f"wrong type {found}, contract says {wanted}",
                    f"cast {column.name} to {wanted}",
                )
        for extra in sorted(set(types) - {column.name for column in table.columns}):
            self.report(
                label,
                extra,
                "column is not in the contract and is ignored",
                f"drop it, or propose it in {_CONTRACT_DOC}",
                severity="warning",
            )
        return usable

    # -- rows --------------------------------------------------------------------------------------
    def _rules(self, source: _Source) -> list[_Rule]:
        rules = []
        for column in source.table.columns:
            if column.name in source.usable:
                rules += self._column_rules(column)
        return rules

    def _column_rules(self, column: Column) -> list[_Rule]:
        name = _quote(column.name)
        rules = []
        if column.key:
            rules.append(
                _Rule(
                    column.name,
                    f"{name} IS NULL",
                    "have a null key",
                    f"give every row a {column.name}",
                    counts_nulls=True,
                )
            )
        elif not column.nullable:
            rules.append(
                _Rule(
                    column.name,
                    f"{name} IS NULL",
                    "are null",
                    f"fill {column.name} in every row",
                    counts_nulls=True,
                )
            )
        if column.accepted_values:
            rules.append(
                _Rule(
                    column.name,
                    f"{name} NOT IN ({_in_list(column.accepted_values)})",
                    "have a value outside the accepted list",
                    f"use one of: {', '.join(column.accepted_values)}",
                )
            )
        if column.pattern:
            null_ok = " or leave it null" if column.nullable else ""
            rules.append(
                _Rule(
                    column.name,
                    f"NOT regexp_full_match({name}, {_literal(column.pattern)})",
                    f"are not {column.pattern_meaning}",
                    f"write {column.name} as {column.pattern_meaning}{null_ok}",
                    "warning",
                )
            )
        if column.iana_time_zone:
            rules.append(
                _Rule(
                    column.name,
                    f"{name} NOT IN (SELECT name FROM iana_time_zones)",
                    "have an unknown IANA time zone",
                    f"use an IANA name such as Europe/London, or leave {column.name} null",
                    "warning",
                )
            )
        if column.min_value is not None:
            rules.append(
                _Rule(
                    column.name,
                    f"{name} < {column.min_value}",
                    f"are below {column.min_value:g}",
                    f"correct {column.name} values below {column.min_value:g}",
                )
            )
        if column.max_value is not None:
            rules.append(
                _Rule(
                    column.name,
                    f"{name} > {column.max_value}",
                    f"are above {column.max_value:g}",
                    f"correct {column.name} values above {column.max_value:g}",
                )
            )
        if column.references is not None:
            rules += self._reference_rules(column.name, *column.references)
        return rules

    def _reference_rules(self, column: str, parent_table: str, parent_column: str) -> list[_Rule]:
        parent = self.sources.get(parent_table)
        if parent is None or parent_column not in parent.usable:
            return []  # the parent's own problem is already reported
        name, parent_key = _quote(column), _quote(parent_column)
        # NOT IN over a subquery runs as one hash (mark) join inside the table's single scan.
        known = f"SELECT {parent_key} FROM {parent.view} WHERE {parent_key} IS NOT NULL"
        return [
            _Rule(
                column,
                f"{name} NOT IN ({known})",
                f"point to a {parent_column} missing from {parent.label}",
                f"export the missing {parent_table} rows, or drop the rows that point to them",
            )
        ]

    def check_rows(self, source: _Source) -> None:
        """Count every rule's offending rows in one scan (null counts come from the Parquet statistics
        when every file has them); fetch examples only for the rules that fail."""
        rules = self._rules(source)
        known_nulls = self._null_counts(source)
        scanned = [rule for rule in rules if not (rule.counts_nulls and rule.column in known_nulls)]
        counts = ", ".join(["count(*)", *(f"count_if({rule.condition})" for rule in scanned)])
        total, *violations = self.rows(f"SELECT {counts} FROM {source.rows_view}")[0]
        counted = dict(zip(scanned, violations, strict=True))
        if total == 0:
            self.report(
                source.label,
                None,
                f"has no rows{source.scope}",
                f"check the export of {source.table.name}",
                severity="warning",
            )
        for rule in rules:
            if rule in counted:  # scanned: the rows the row rules apply to
                count, view, scope = counted[rule], source.rows_view, source.scope
            else:  # a null count from the Parquet statistics: every row
                count, view, scope = known_nulls[rule.column], source.view, ""
            if count:
                self._report_rule(source, rule, count, view, scope)
        key = source.table.key
        if key.name in source.usable:
            self._check_duplicates(source, key.name)
        time_column = _TIME_ORDERED.get(source.table.name)
        if time_column in source.usable:
            self._check_time_order(source, time_column)

    def _null_counts(self, source: _Source) -> dict[str, int]:
        """Null counts per column from the row-group statistics, for columns every file has them for."""
        files = f"parquet_metadata({_literal(source.files)})"
        rows = self.rows(
            f"SELECT path_in_schema, sum(stats_null_count) FROM {files} GROUP BY path_in_schema "
            f"HAVING count(stats_null_count) = count(*) "
            f"AND count(DISTINCT file_name) = (SELECT count(DISTINCT file_name) FROM {files})"
        )
        return {column: int(nulls) for column, nulls in rows}

    def _report_rule(self, source: _Source, rule: _Rule, count: int, view: str, scope: str) -> None:
        where = f"FROM {view} WHERE {rule.condition}"
        examples = [ref for (ref,) in self.rows(f"SELECT {source.reference()} {where} LIMIT {MAX_EXAMPLES}")]
        problem = f"{count:,} row(s){scope} {rule.problem}"
        if not rule.counts_nulls:
            values = self.rows(
                f"SELECT DISTINCT CAST({_quote(rule.column)} AS VARCHAR) {where} LIMIT {MAX_EXAMPLES}"
            )
            problem += ": " + ", ".join(repr(value) for (value,) in values)
        self.report(source.label, rule.column, problem, rule.fix, examples, rule.severity)

    def _check_duplicates(self, source: _Source, key: str) -> None:
        """Exports usually write keys in order, and keys that strictly ascend in file order are unique:
        one streaming pass proves it. Otherwise count distinct values with a hash aggregate."""
        name = _quote(key)
        if self._strictly_ascending(f"SELECT {name} FROM {source.view}"):
            return
        grouped = (
            f"SELECT {name} FROM {source.view} WHERE {name} IS NOT NULL GROUP BY ALL HAVING count(*) > 1"
        )
        repeated = self.rows(f"SELECT count(*) FROM ({grouped})")[0][0]
        if repeated:
            examples = self.rows(
                f"SELECT CAST({name} AS VARCHAR) FROM ({grouped}) ORDER BY 1 LIMIT {MAX_EXAMPLES}"
            )
            self.report(
                source.label,
                key,
                f"{repeated:,} key value(s) appear more than once",
                f"keep one row per {key} (deduplicate the export)",
                [value for (value,) in examples],
            )

    def _check_time_order(self, source: _Source, column: str) -> None:
        """Warn when the row groups' time ranges overlap (from the Parquet statistics: no scan)."""
        ranges = (
            f"SELECT TRY_CAST(stats_min_value AS TIMESTAMP) AS low, TRY_CAST(stats_max_value AS TIMESTAMP) AS high "
            f"FROM parquet_metadata({_literal(source.files)}) WHERE path_in_schema = {_literal(column)}"
        )
        groups, covered, whole = self.rows(
            f"SELECT count(*), sum(epoch(high) - epoch(low)), epoch(max(high)) - epoch(min(low)) FROM ({ranges}) "
            f"WHERE low IS NOT NULL AND high IS NOT NULL"
        )[0]
        if groups < _MIN_ROW_GROUPS or not whole or covered / whole <= _MAX_TIME_OVERLAP:
            return
        self.report(
            source.label,
            column,
            f"rows are not in time order: each of its {groups} row groups spans on average "
            f"{covered / groups / 86400:,.0f} of the {whole / 86400:,.0f} days, so reads of recent days "
            "(every daily build) scan the whole table",
            f"write the rows sorted by {column}, or append them day by day ({_CONTRACT_DOC})",
            severity="warning",
        )

    def _strictly_ascending(self, sql: str) -> bool:
        """Whether the single column ``sql`` returns is non-null and strictly ascending, batch by batch."""
        previous = None
        for batch in self.db.sql(sql).to_arrow_reader(1 << 20):
            values = batch.column(0)
            if values.null_count:
                return False
            if len(values) == 0:
                continue
            if previous is not None and not pc.greater(values[0], previous).as_py():
                return False
            if not pc.all(pc.greater(values.slice(1), values.slice(0, len(values) - 1))).as_py():
                return False
            previous = values[len(values) - 1]
        return True


def check_landing(landing_dir: Path, recent_days: int | None = None) -> list[LandingProblem]:
    """Every way the landing folder departs from the contract, in contract order; empty means dbt can run.

    ``recent_days``: check the event tables' rows of only that many recent days (see the module)."""
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        return [
            LandingProblem(
                str(landing_dir),
                None,
                "landing folder does not exist",
                "generate data (generate-business) or set LIFECYCLE_LANDING_DIR",
            )
        ]
    checker = _Checker(landing_dir, recent_days)
    try:
        for table in CONTRACT.values():
            checker.register(table)
        for source in checker.sources.values():
            checker.check_rows(source)
    finally:
        checker.db.close()
    rank = {table.file_name: position for position, table in enumerate(CONTRACT.values())}
    rank |= {f"{table.name}/": position for position, table in enumerate(CONTRACT.values())}
    return sorted(checker.problems, key=lambda problem: rank[problem.file])
