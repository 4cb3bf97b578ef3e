"""The landing check: clean data passes, and each kind of broken export is named precisely
(file, column, an offending key, a fix). Also keeps the Python contract in step with the document."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lifecycle.daily import LandingProblems, check_landing_files
from lifecycle.landing import CONTRACT, LandingProblem, check_landing, format_problems

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"


@pytest.fixture
def landing(small_business_landing: Path, tmp_path: Path) -> Path:
    """A private copy of the generated business, safe to corrupt."""
    return Path(shutil.copytree(small_business_landing, tmp_path / "landing"))


def rewrite(landing: Path, table: str, query: str) -> None:
    """Replace ``<table>.parquet`` with the result of ``query`` over its original rows (the table ``t``)."""
    path = landing / f"{table}.parquet"
    staged = landing / f"{table}.staged"
    duckdb.execute(
        f"COPY (WITH t AS (SELECT * FROM read_parquet('{path}')) {query}) TO '{staged}' (FORMAT parquet)"
    )
    staged.replace(path)


def first_key(landing: Path, table: str, where: str = "true") -> str:
    key = CONTRACT[table].key.name
    return duckdb.execute(
        f"SELECT CAST({key} AS VARCHAR) FROM read_parquet('{landing}/{table}.parquet') WHERE {where} ORDER BY 1 LIMIT 1"
    ).fetchone()[0]


def only_problem(problems: list[LandingProblem]) -> LandingProblem:
    assert len(problems) == 1, format_problems(problems)
    return problems[0]


def test_generated_business_meets_the_contract(small_business_landing: Path) -> None:
    assert check_landing(small_business_landing) == []


def test_missing_file(landing: Path) -> None:
    (landing / "nps_responses.parquet").unlink()
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("nps_responses.parquet", None, "error")
    assert "missing" in problem.problem and "nps_responses" in problem.fix


def test_missing_column(landing: Path) -> None:
    rewrite(landing, "contacts", "SELECT * EXCLUDE (phone) FROM t")
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("contacts.parquet", "phone", "error")
    assert "missing" in problem.problem and "VARCHAR" in problem.problem


def test_wrong_type(landing: Path) -> None:
    rewrite(landing, "customers", "SELECT * REPLACE (strftime(created_at, '%d/%m/%Y') AS created_at) FROM t")
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("customers.parquet", "created_at", "error")
    assert "VARCHAR" in problem.problem and "TIMESTAMP" in problem.problem


def test_safe_widening_passes_and_lossy_casts_warn(landing: Path) -> None:
    rewrite(
        landing,
        "usage_events",
        "SELECT * REPLACE (CAST(event_id AS INTEGER) AS event_id, CAST(quantity AS FLOAT) AS quantity) FROM t",
    )
    assert check_landing(landing) == []
    rewrite(landing, "nps_responses", "SELECT * REPLACE (CAST(score AS BIGINT) AS score) FROM t")
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("nps_responses.parquet", "score", "warning")


def test_duplicate_ids(landing: Path) -> None:
    duplicated = first_key(landing, "contacts", "NOT is_primary")
    rewrite(
        landing, "contacts", f"SELECT * FROM t UNION ALL SELECT * FROM t WHERE contact_id = '{duplicated}'"
    )
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("contacts.parquet", "contact_id", "error")
    assert "more than once" in problem.problem and duplicated in problem.examples


def test_unordered_unique_keys_pass(landing: Path) -> None:
    rewrite(landing, "usage_events", "SELECT * FROM t ORDER BY quantity, event_id DESC")
    assert check_landing(landing) == []


def test_null_keys(landing: Path) -> None:
    rewrite(
        landing,
        "support_tickets",
        "SELECT * REPLACE (CASE WHEN ticket_id = 'tkt_000003' THEN NULL ELSE ticket_id END AS ticket_id) FROM t",
    )
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == (
        "support_tickets.parquet",
        "ticket_id",
        "error",
    )
    assert "null key" in problem.problem and problem.examples == ("row 3",)


def test_unknown_time_zone(landing: Path) -> None:
    contact = first_key(landing, "contacts", "time_zone IS NOT NULL")
    rewrite(
        landing,
        "contacts",
        f"SELECT * REPLACE (CASE WHEN contact_id = '{contact}' THEN 'Mars/Olympus_Mons' ELSE time_zone END "
        "AS time_zone) FROM t",
    )
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("contacts.parquet", "time_zone", "warning")
    assert "Mars/Olympus_Mons" in problem.problem and problem.examples == (contact,)


def test_malformed_phone(landing: Path) -> None:
    contact = first_key(landing, "contacts", "phone IS NOT NULL")
    rewrite(
        landing,
        "contacts",
        f"SELECT * REPLACE (CASE WHEN contact_id = '{contact}' THEN '(415) 555-0123' ELSE phone END AS phone) FROM t",
    )
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("contacts.parquet", "phone", "warning")
    assert (
        "E.164" in problem.problem and "(415) 555-0123" in problem.problem and problem.examples == (contact,)
    )


def test_orphan_contact(landing: Path) -> None:
    contact = first_key(landing, "contacts")
    rewrite(
        landing,
        "contacts",
        f"SELECT * REPLACE (CASE WHEN contact_id = '{contact}' THEN 'cus_999999' ELSE customer_id END "
        "AS customer_id) FROM t",
    )
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == ("contacts.parquet", "customer_id", "error")
    assert "customers.parquet" in problem.problem and "cus_999999" in problem.problem
    assert problem.examples == (contact,)


def test_value_outside_the_accepted_list(landing: Path) -> None:
    rewrite(
        landing,
        "subscription_events",
        "SELECT * REPLACE (CASE WHEN event_type = 'payment_failed' THEN 'dunning' ELSE event_type END "
        "AS event_type) FROM t",
    )
    problem = only_problem(check_landing(landing))
    assert (problem.file, problem.column, problem.severity) == (
        "subscription_events.parquet",
        "event_type",
        "error",
    )
    assert "'dunning'" in problem.problem and "payment_failed" in problem.fix and len(problem.examples) == 5


def usage_event_ids(landing: Path, where: str, count: int) -> list[int]:
    """The first ``count`` usage event ids whose row matches ``where`` (``newest`` is the latest occurred_at)."""
    events = f"read_parquet('{landing}/usage_events.parquet')"
    return [
        event_id
        for (event_id,) in duckdb.execute(
            f"WITH newest AS (SELECT max(occurred_at) AS at FROM {events}) "
            f"SELECT event_id FROM {events}, newest WHERE {where} ORDER BY event_id LIMIT {count}"
        ).fetchall()
    ]


def test_recent_days_check_only_the_newest_usage_event_rows(landing: Path) -> None:
    """A deployment's daily runs (LIFECYCLE_DBT_RECENT_TEST_DAYS) check the rows of the last days, the ones
    the export added, not all history again; a full check still finds both."""
    [old] = usage_event_ids(landing, "occurred_at < newest.at - INTERVAL 30 DAY", 1)
    [recent] = usage_event_ids(landing, "occurred_at >= newest.at - INTERVAL 1 DAY", 1)
    rewrite(
        landing,
        "usage_events",
        f"SELECT * REPLACE (CASE WHEN event_id IN ({old}, {recent}) THEN 'cus_999999' ELSE customer_id END "
        "AS customer_id) FROM t",
    )
    everything = only_problem(check_landing(landing))
    assert everything.problem.startswith("2 row(s) point to a customer_id missing from customers.parquet")
    assert everything.examples == (str(old), str(recent))
    recent_only = only_problem(check_landing(landing, recent_days=7))
    assert (recent_only.file, recent_only.column, recent_only.severity) == (
        "usage_events.parquet",
        "customer_id",
        "error",
    )
    assert re.match(
        r"1 row\(s\) since \d{4}-\d\d-\d\d \d\d:\d\d point to a customer_id missing", recent_only.problem
    )
    assert recent_only.examples == (str(recent),)


def test_the_daily_task_takes_recent_days_from_the_deployment(
    landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check_landing_files (the DAG's check_landing task) stops the run on an error in the rows it checks:
    every row, or with LIFECYCLE_DBT_RECENT_TEST_DAYS the recent ones."""
    [old] = usage_event_ids(landing, "occurred_at < newest.at - INTERVAL 30 DAY", 1)
    rewrite(
        landing,
        "usage_events",
        f"SELECT * REPLACE (CASE WHEN event_id = {old} THEN -1 ELSE quantity END AS quantity) FROM t",
    )
    monkeypatch.setenv("LIFECYCLE_LANDING_DIR", str(landing))
    monkeypatch.delenv("LIFECYCLE_DBT_RECENT_TEST_DAYS", raising=False)
    with pytest.raises(
        LandingProblems, match=r"usage_events.parquet column quantity: 1 row\(s\) are below 0"
    ):
        check_landing_files()
    monkeypatch.setenv("LIFECYCLE_DBT_RECENT_TEST_DAYS", "7")
    assert check_landing_files() == 0


def test_recent_days_still_check_every_row_for_null_and_duplicate_keys(landing: Path) -> None:
    null_key, duplicate, original = usage_event_ids(landing, "occurred_at < newest.at - INTERVAL 30 DAY", 3)
    rewrite(
        landing,
        "usage_events",
        f"SELECT * REPLACE (CASE event_id WHEN {null_key} THEN NULL WHEN {duplicate} THEN {original} "
        "ELSE event_id END AS event_id) FROM t",
    )
    problems = {
        problem.problem.split(" ", 1)[1]: problem for problem in check_landing(landing, recent_days=7)
    }
    assert set(problems) == {"row(s) have a null key", "key value(s) appear more than once"}, problems
    assert problems["key value(s) appear more than once"].examples == (str(original),)


def test_recent_days_without_parquet_statistics_still_find_a_null_time(landing: Path) -> None:
    """Without statistics the newest time comes from a scan, and rows with no time at all are checked
    with the recent ones (a filter on the time would drop them)."""
    path = landing / "usage_events.parquet"
    [event_id] = usage_event_ids(landing, "occurred_at < newest.at - INTERVAL 30 DAY", 1)
    events = pq.read_table(path)
    nulled = pc.if_else(pc.equal(events["event_id"], event_id), None, events["occurred_at"])
    events = events.set_column(events.schema.get_field_index("occurred_at"), "occurred_at", nulled)
    pq.write_table(events, path, write_statistics=False)
    problem = only_problem(check_landing(landing, recent_days=7))
    assert (problem.file, problem.column, problem.severity) == (
        "usage_events.parquet",
        "occurred_at",
        "error",
    )
    assert problem.problem.startswith("1 row(s) since ") and problem.examples == (str(event_id),)


@pytest.mark.parametrize("order", ["customer_id, occurred_at", "occurred_at"])
def test_usage_events_out_of_time_order_warn_with_the_fix(landing: Path, order: str) -> None:
    path = landing / "usage_events.parquet"
    staged = landing / "usage_events.staged"
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet('{path}') ORDER BY {order}) TO '{staged}' "
        "(FORMAT parquet, ROW_GROUP_SIZE 4096)"
    )
    staged.replace(path)
    problems = check_landing(landing)
    if order == "occurred_at":
        assert problems == []
        return
    problem = only_problem(problems)
    assert (problem.file, problem.column, problem.severity) == (
        "usage_events.parquet",
        "occurred_at",
        "warning",
    )
    assert "not in time order" in problem.problem and "sorted by occurred_at" in problem.fix


def test_a_folder_of_parquet_files_is_one_table(landing: Path) -> None:
    folder = landing / "usage_events"
    folder.mkdir()
    source = landing / "usage_events.parquet"
    for part, condition in enumerate(("event_id % 2 = 0", "event_id % 2 = 1")):
        duckdb.execute(
            f"COPY (SELECT * FROM read_parquet('{source}') WHERE {condition}) TO '{folder}/part-{part}.parquet'"
        )
    source.unlink()
    assert check_landing(landing) == []


def test_unreadable_file_and_missing_folder(landing: Path, tmp_path: Path) -> None:
    (landing / "plans.parquet").write_text("plan_id,plan_name\nteam,Team\n")
    problems = check_landing(landing)
    assert problems[0].file == "plans.parquet" and "cannot be read as Parquet" in problems[0].problem
    assert only_problem(check_landing(tmp_path / "nowhere")).problem == "landing folder does not exist"


def test_problems_read_as_one_line_each() -> None:
    problem = LandingProblem(
        "contacts.parquet", "phone", "1 row(s) are not E.164", "write E.164", ("con_000007",), "warning"
    )
    assert str(problem) == (
        "WARNING contacts.parquet column phone: 1 row(s) are not E.164 (e.g. con_000007). Fix: write E.164"
    )
    error = LandingProblem("plans.parquet", None, "file is missing", "export plans")
    report = format_problems([problem, error])
    assert report.splitlines() == [
        "Landing data: 1 error(s), 1 warning(s).",
        f"  {error}",
        f"  {problem}",
    ]
    assert "no problems" in format_problems([])


def _documented_tables() -> dict[str, list[tuple[str, str, bool, bool]]]:
    """(column, type, nullable, key) per table, as written in docs/data-contract.md."""
    tables: dict[str, list[tuple[str, str, bool, bool]]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        heading = re.match(r"## `(\w+)`", line)
        if heading:
            current = heading.group(1)
            tables[current] = []
        row = re.match(r"\| `(\w+)`( \*key\*)? \| (\w+)(, null)? \|", line)
        if current and row:
            tables[current].append((row.group(1), row.group(3), bool(row.group(4)), bool(row.group(2))))
    return tables


def test_python_contract_matches_the_document() -> None:
    documented = _documented_tables()
    assert list(documented) == list(CONTRACT)
    for name, table in CONTRACT.items():
        in_code = [(c.name, c.type, c.nullable, c.key) for c in table.columns]
        assert in_code == documented[name], name
    values_table = DOC.read_text().split("`event_type` values:")[1].split("\n## ")[0]
    event_types = re.findall(r"^\| `(\w+)` \|", values_table, re.MULTILINE)
    event_type = next(c for c in CONTRACT["subscription_events"].columns if c.name == "event_type")
    assert tuple(event_types) == event_type.accepted_values
