"""The dbt project, built for real on the 1,000-customer generated business.

Runs ``dbt build`` as a subprocess (the way Airflow does), then reads the DuckDB warehouse read-only
after dbt has exited (dbt is its only writer). Checks the marts against the raw landing files, an
earlier as-of date, incremental re-runs (which must agree with full builds), and bad input, which must
stop the build with a message naming the model and column.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from lifecycle.export.ops_export import export_ops_store
from lifecycle.landing.contract import (
    CONTRACT,
    COUNTRY_CODE_PATTERN,
    E164_PATTERN,
    EMAIL_PATTERN,
    LOCALE_PATTERN,
    Column,
)
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.orchestration import LANDING_CHECKED_TAG

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "dbt_project"
DBT = REPO / ".venv" / "bin" / "dbt"
AS_OF = date(2026, 11, 20)  # the end date of the generated business (tests/conftest.py)
EARLIER = date(2026, 9, 30)
STAGES = {"trial", "onboarding", "active", "expanding", "at_risk", "churned"}
MILESTONES = {
    "first_login",
    "onboarding_complete",
    "teammates_invited",
    "core_feature_adopted",
    "seat_quota_80pct",
    "storage_quota_80pct",
    "steady_active_use",
}
# marts Python reads, compared row for row between incremental and full builds
COMPARED_MARTS = ("customers", "usage_milestones", "addon_white_space", "product_ownership")


@dataclass(frozen=True)
class DbtRun:
    returncode: int
    output: str


def run_dbt(env_overrides: dict[str, str], target: str, as_of: date, work: Path, *extra: str) -> DbtRun:
    """`dbt build --target <target>` for one as-of date; target and logs go under ``work`` so parallel
    runs never collide."""
    env = {**os.environ, **env_overrides, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("LIFECYCLE_AS_OF", None)
    command = [
        str(DBT), "build",
        "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", target,
        "--vars", f"{{as_of_date: {as_of.isoformat()}}}",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        *extra,
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return DbtRun(done.returncode, done.stdout + done.stderr)


def dbt_build(landing: Path, warehouse: Path, as_of: date, work: Path, *extra: str) -> DbtRun:
    """`dbt build` on DuckDB over the landing folder ``landing``."""
    env = {"LIFECYCLE_LANDING_DIR": str(landing), "LIFECYCLE_WAREHOUSE_PATH": str(warehouse)}
    return run_dbt(env, "duckdb", as_of, work, *extra)


def succeeded(run: DbtRun) -> DbtRun:
    assert run.returncode == 0, f"dbt build failed:\n{run.output[-6000:]}"
    return run


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def landing_query(landing: Path, sql: str) -> list[tuple]:
    """SQL over the landing Parquet files: `{customers}` etc. stand for read_parquet('<landing>/customers.parquet')."""
    tables = {
        name: f"read_parquet('{landing / name}.parquet')"
        for name in ("customers", "contacts", "consents", "subscription_events", "usage_events", "products")
    }
    with duckdb.connect() as conn:
        return conn.execute(sql.format(**tables)).fetchall()


def cutoff(day: date) -> str:
    return f"timestamp '{(day + timedelta(days=1)).isoformat()} 00:00:00'"


def mart_rows(warehouse: Path, mart: str) -> list[tuple]:
    return query(warehouse, f"select * from main.{mart} order by all")


def planned_message(customer_id: str, contact_id: str, step: str, as_of: date) -> ledger.PlannedMessage:
    enrollment_id = f"welcome:{customer_id}:2026-11-19"
    return ledger.PlannedMessage(
        message_key=f"{enrollment_id}:{step}",
        enrollment_id=enrollment_id,
        customer_id=customer_id,
        contact_id=contact_id,
        sequence="welcome",
        step=step,
        channel="email",
        template=f"welcome_{step}",
        recipient="someone@example.com",
        time_zone="Europe/London",
        context={},
        as_of_date=as_of,
        send_after=datetime(2026, 11, 19, 9, tzinfo=UTC),
    )


LEDGER_STEPS = {"day_0": date(2026, 11, 19), "day_2": date(2026, 11, 19), "day_5": date(2026, 11, 25)}


def first_primary_contact(landing: Path) -> tuple[str, str]:
    return landing_query(
        landing,
        "select customer_id, contact_id from {contacts} where is_primary order by customer_id limit 1",
    )[0]


def write_ledger(landing: Path, customer_id: str, contact_id: str) -> None:
    """The ops export Python writes before dbt runs, from a real ledger: one message planned, exported,
    then sent and exported again (two part files hold the key; the later wins), one held out, and one
    planned for a run date after the as-of date."""
    engine = connect(f"sqlite:///{landing.parent / 'ops.sqlite'}")
    migrate(engine)
    messages = {
        step: planned_message(customer_id, contact_id, step, as_of) for step, as_of in LEDGER_STEPS.items()
    }
    ledger.plan(engine, [messages["day_0"], messages["day_5"]], now=datetime(2026, 11, 19, 8, tzinfo=UTC))
    ledger.plan(engine, [messages["day_2"]], now=datetime(2026, 11, 19, 8, tzinfo=UTC), state="held_out")
    export_ops_store(engine, landing / "ops")
    [claimed] = ledger.claim_due(engine, "test", 1, now=datetime(2026, 11, 19, 9, 0, 5, tzinfo=UTC))
    ledger.record_outcomes(engine, [ledger.Outcome(claimed.message_key, "sent", provider="sendgrid")])
    export_ops_store(engine, landing / "ops")
    engine.dispose()


@pytest.fixture(scope="module")
def landing(small_business_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the generated landing folder, with an ops ledger export."""
    folder = tmp_path_factory.mktemp("dbt_landing") / "landing"
    shutil.copytree(small_business_landing, folder)
    write_ledger(folder, *first_primary_contact(folder))
    return folder


@pytest.fixture(scope="module")
def ledger_keys(landing: Path) -> dict[str, str]:
    customer_id, contact_id = first_primary_contact(landing)
    return {
        step: planned_message(customer_id, contact_id, step, as_of).message_key
        for step, as_of in LEDGER_STEPS.items()
    }


@pytest.fixture(scope="module")
def builds(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Every dbt build this module checks, run three at a time (dbt spends much of a small build
    starting up and parsing, single-threaded, so independent builds overlap well):

    - warehouse A: a full build as of AS_OF (its marts kept), then an incremental build as of EARLIER
      (rebuilding a past day), then an incremental build as of AS_OF again;
    - warehouse B: a full build as of EARLIER, to compare with A's incremental one;
    - two corrupted landing folders (see CORRUPTIONS).
    """
    work = tmp_path_factory.mktemp("dbt_builds")
    warehouse_a, warehouse_b = work / "a.duckdb", work / "b.duckdb"

    def chain_a() -> dict[str, object]:
        first = succeeded(dbt_build(landing, warehouse_a, AS_OF, work / "a_as_of"))
        marts_as_of = {mart: mart_rows(warehouse_a, mart) for mart in COMPARED_MARTS}
        succeeded(dbt_build(landing, warehouse_a, EARLIER, work / "a_earlier"))
        marts_earlier_incremental = {mart: mart_rows(warehouse_a, mart) for mart in COMPARED_MARTS}
        succeeded(dbt_build(landing, warehouse_a, AS_OF, work / "a_as_of"))
        return {
            "first_output": first.output,
            "marts_as_of": marts_as_of,
            "marts_earlier_incremental": marts_earlier_incremental,
        }

    def corrupted(name: str, cases: list[str]) -> DbtRun:
        folder = work / f"bad_{name}"
        folder.mkdir()
        return dbt_build(corrupt(landing, folder, cases), folder / "warehouse.duckdb", AS_OF, folder)

    with ThreadPoolExecutor(max_workers=3) as pool:
        a = pool.submit(chain_a)
        b = pool.submit(dbt_build, landing, warehouse_b, EARLIER, work / "b")
        bad_all = pool.submit(corrupted, "all", sorted(CORRUPTIONS))
        bad_alone = pool.submit(corrupted, "alone", [ALONE])
        results = a.result()
        succeeded(b.result())
        results["corrupted"] = {"all": bad_all.result(), "alone": bad_alone.result()}
    manifest = json.loads((work / "a_as_of" / "target" / "manifest.json").read_text())
    return {**results, "warehouse": warehouse_a, "earlier_warehouse": warehouse_b, "manifest": manifest}


@pytest.fixture(scope="module")
def warehouse(builds: dict[str, object]) -> Path:
    return builds["warehouse"]  # type: ignore[return-value]


def test_build_runs_unit_tests_and_contracts(builds: dict[str, object]) -> None:
    output = str(builds["first_output"])
    assert "unit_test" in output or "unit test" in output
    assert "test_lifecycle_stage_rules_and_precedence" in output
    assert "ERROR=0" in output


def test_every_customer_exactly_once(warehouse: Path, landing: Path) -> None:
    expected = landing_query(
        landing, f"select count(*) from {{customers}} where created_at < {cutoff(AS_OF)}"
    )[0][0]
    total, distinct = query(warehouse, "select count(*), count(distinct customer_id) from main.customers")[0]
    assert total == distinct == expected > 0


def test_lifecycle_stages_are_populated_and_plausible(warehouse: Path, landing: Path) -> None:
    stages = dict(query(warehouse, "select lifecycle_stage, count(*) from main.customers group by 1"))
    assert set(stages) <= STAGES
    assert {"trial", "active", "at_risk", "churned"} <= set(stages), stages
    assert stages["churned"] < sum(stages.values())
    bad = query(
        warehouse,
        """
        select customer_id, lifecycle_stage, subscription_status, mrr from main.customers
        where (lifecycle_stage = 'trial') <> (subscription_status = 'trialing')
           or (lifecycle_stage = 'churned' and mrr <> 0)
           or (lifecycle_stage in ('onboarding', 'active', 'expanding', 'at_risk')
               and (subscription_status <> 'active' or plan_id is null or mrr <= 0))
        """,
    )
    assert bad == []
    # a customer whose latest status event (by the as-of date) is a cancel is churned
    cancelled = {
        row[0]
        for row in landing_query(
            landing,
            f"""
            select customer_id from {{subscription_events}}
            where occurred_at < {cutoff(AS_OF)} and event_type not in
                ('addon_purchased', 'addon_removed', 'payment_failed')
            qualify row_number() over (partition by customer_id order by occurred_at desc) = 1
                and event_type = 'cancel'
            """,
        )
    }
    churned = {
        row[0]
        for row in query(
            warehouse, "select customer_id from main.customers where lifecycle_stage = 'churned'"
        )
    }
    assert cancelled and cancelled <= churned


def test_contact_fields_and_consent(warehouse: Path) -> None:
    rows = query(
        warehouse,
        """
        select count(*), count(primary_contact_id), count(time_zone),
               count(*) filter (where email_consent_status not in ('granted', 'revoked', 'unknown'))
        from main.customers
        """,
    )[0]
    total, with_contact, with_zone, bad_consent = rows
    assert with_contact == with_zone and with_contact >= 0.95 * total
    assert bad_consent == 0


def test_usage_milestones_present(warehouse: Path, landing: Path) -> None:
    counts = dict(query(warehouse, "select milestone, count(*) from main.usage_milestones group by 1"))
    assert set(counts) == MILESTONES, counts
    late = query(
        warehouse, f"select count(*) from main.usage_milestones where first_reached_at >= {cutoff(AS_OF)}"
    )
    assert late == [(0,)]
    # onboarding_complete is reached exactly by the customers who used the onboarding checklist
    onboarded = landing_query(
        landing,
        f"""
        select count(distinct customer_id) from {{usage_events}}
        where feature = 'onboarding_checklist' and occurred_at < {cutoff(AS_OF)}
          and customer_id in (select customer_id from {{customers}} where created_at < {cutoff(AS_OF)})
        """,
    )[0][0]
    assert counts["onboarding_complete"] == onboarded


def test_white_space_never_lists_an_owned_product(warehouse: Path) -> None:
    owned = query(
        warehouse,
        """
        select w.customer_id, w.product_id from main.addon_white_space as w
        join main.product_ownership as o using (customer_id, product_id)
        """,
    )
    assert owned == []
    rows = query(
        warehouse,
        """
        select count(*), count(*) filter (where c.subscription_status <> 'active'),
               count(*) filter (where w.reason is null or w.reason = '')
        from main.addon_white_space as w join main.customers as c using (customer_id)
        """,
    )[0]
    assert rows[0] > 0 and rows[1:] == (0, 0)


def test_welcome_segment_holds_the_last_two_weeks_sign_ups(warehouse: Path, landing: Path) -> None:
    sign_ups = landing_query(
        landing,
        f"""
        select customers.customer_id, cast(customers.created_at as date)
        from {{customers}} as customers
        join {{contacts}} as contacts on contacts.customer_id = customers.customer_id and contacts.is_primary
        where customers.created_at >= timestamp '{(AS_OF - timedelta(days=13)).isoformat()}'
          and customers.created_at < {cutoff(AS_OF)} and contacts.created_at < {cutoff(AS_OF)}
        """,
    )
    rows = query(
        warehouse, "select customer_id, sequence, entered_on, entry_reason from main.segment_welcome"
    )
    assert rows and {(row[0], row[2]) for row in rows} <= set(sign_ups)
    todays = {customer for customer, day in sign_ups if day == AS_OF}
    assert todays and todays <= {row[0] for row in rows}  # today's sign-ups are all live
    assert all(
        sequence == "welcome" and reason.startswith("Since your team ") for _, sequence, _, reason in rows
    )


def test_message_outcomes_show_the_latest_ledger_state(warehouse: Path, ledger_keys: dict[str, str]) -> None:
    rows = query(warehouse, "select message_key, state, is_sent from main.message_outcomes order by 1")
    assert rows == [(ledger_keys["day_0"], "sent", True), (ledger_keys["day_2"], "held_out", False)]


def test_earlier_as_of_date_sees_only_that_day(builds: dict[str, object], landing: Path) -> None:
    earlier = builds["earlier_warehouse"]
    expected = landing_query(
        landing, f"select count(*) from {{customers}} where created_at < {cutoff(EARLIER)}"
    )[0][0]
    total, latest, as_of_dates = query(
        earlier, "select count(*), max(created_at), list(distinct as_of_date) from main.customers"
    )[0]
    assert total == expected
    assert latest < datetime.combine(EARLIER + timedelta(days=1), datetime.min.time())
    assert as_of_dates == [EARLIER]
    assert query(
        earlier, f"select count(*) from main.usage_milestones where first_reached_at >= {cutoff(EARLIER)}"
    ) == [(0,)]
    assert query(earlier, "select count(*) from main.message_outcomes") == [(0,)]
    [(first, last)] = query(earlier, "select min(entered_on), max(entered_on) from main.segment_welcome")
    assert EARLIER - timedelta(days=13) <= first <= last <= EARLIER


def test_rebuilding_a_past_day_incrementally_matches_a_full_build(builds: dict[str, object]) -> None:
    incremental = builds["marts_earlier_incremental"]
    full = {mart: mart_rows(builds["earlier_warehouse"], mart) for mart in COMPARED_MARTS}  # type: ignore[arg-type]
    for mart in COMPARED_MARTS:
        assert incremental[mart] == full[mart], f"{mart} differs between the incremental and the full build"  # type: ignore[index]


def test_incremental_rerun_matches_the_first_build(builds: dict[str, object], warehouse: Path) -> None:
    first = builds["marts_as_of"]
    for mart in COMPARED_MARTS:
        assert mart_rows(warehouse, mart) == first[mart], f"{mart} changed on the incremental re-run"  # type: ignore[index]


def test_a_new_day_from_the_environment_keeps_partial_parsing_and_compiles_for_that_day(
    landing: Path, tmp_path: Path
) -> None:
    """The DAG passes the day in LIFECYCLE_AS_OF: a var would make dbt parse the whole project again
    every day; the environment variable is read only when models compile, so dbt parses nothing anew
    for a new day (perf_info.json counts the files it parsed), and the SQL is still for that day."""
    env = {
        **os.environ,
        "LIFECYCLE_LANDING_DIR": str(landing),
        "LIFECYCLE_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    common = ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", "duckdb",
              "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]  # fmt: skip

    def dbt(day: date, *command: str) -> None:
        done = subprocess.run(
            [str(DBT), *command, *common], cwd=REPO, env={**env, "LIFECYCLE_AS_OF": day.isoformat()},
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:]

    dbt(EARLIER, "parse")
    dbt(AS_OF, "parse")
    perf = json.loads((tmp_path / "target" / "perf_info.json").read_text())
    assert perf["is_partial_parse_enabled"] and perf["parsed_path_count"] == 0, perf
    dbt(AS_OF, "compile", "--select", "int_usage_recent_days")
    compiled = next((tmp_path / "target" / "compiled").rglob("int_usage_recent_days.sql")).read_text()
    assert f"< cast('{(AS_OF + timedelta(days=1)).isoformat()} 00:00:00'" in compiled


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("2026-11-201", "as_of_date must be a date written YYYY-MM-DD"),  # was read as 2026-11-20
        ("2026-02-30", "as_of_date is not a day of the calendar"),
        ("2024-02-29 07:30:00", "cast('2024-02-29' as date)"),
        ("2026-11-20T00:00:00+00:00", "cast('2026-11-20' as date)"),
    ],
)
def test_the_day_from_the_environment_is_read_whole(
    landing: Path, tmp_path: Path, value: str, outcome: str
) -> None:
    """A mistyped LIFECYCLE_AS_OF stops the build with the value and the fix, instead of building some
    other day; a day with a time (an ISO logical date) is that day."""
    done = subprocess.run(
        [str(DBT), "compile", "--inline", "select {{ as_of_date() }} as as_of_date",
         "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", "duckdb",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "LIFECYCLE_LANDING_DIR": str(landing), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
             "LIFECYCLE_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"), "LIFECYCLE_AS_OF": value},
    )  # fmt: skip
    assert outcome in done.stdout, done.stdout[-3000:]
    assert (done.returncode == 0) == outcome.startswith("cast("), done.stdout[-3000:]
    if done.returncode:
        assert f"got '{value}'" in done.stdout


# --- bad input -------------------------------------------------------------------------------------

# case: (table, SQL over the original table `t` that writes the corrupted file, what the output must say,
# and the column it must name). Each case corrupts a different table or row, so one build of a folder
# holding all of them reports every one; one case also runs alone.
CORRUPTIONS = {
    "duplicate_customer_id": (
        "customers",
        "select * from t union all (select * from t order by customer_id limit 1)",
        "Failure in test unique_stg_app__customers_customer_id",
        "customer_id",
    ),
    "null_key": (
        "contacts",
        "case when row_number() over (order by contact_id) = 3 then null else contact_id end as contact_id",
        "Failure in test not_null_stg_app__contacts_contact_id",
        "contact_id",
    ),
    "unknown_time_zone": (
        "contacts",
        "case when row_number() over (order by contact_id) = 5 then 'Mars/Olympus_Mons' else time_zone end"
        " as time_zone",
        "Failure in test valid_time_zone_stg_app__contacts_time_zone",
        "time_zone",
    ),
    "malformed_phone": (
        "contacts",
        "case when row_number() over (order by contact_id) = 7 then '(415) 555-0123' else phone end as phone",
        "Failure in test valid_e164_stg_app__contacts_phone",
        "phone",
    ),
    "missing_column": (
        "subscription_events",
        "select * exclude (mrr_after) from t",
        "Error in model stg_app__subscription_events",
        "`mrr_after` (double) is missing",
    ),
    "wrong_type": (
        "nps_responses",
        "select * replace (cast(score as varchar) as score) from t",
        "Error in model stg_app__nps_responses",
        "`score` has type VARCHAR, expected integer",
    ),
}
ALONE = "malformed_phone"


def corrupt(landing: Path, folder: Path, cases: list[str]) -> Path:
    """A copy of the landing folder with the cases applied (column replacements on one table combine)."""
    copy = folder / "landing"
    shutil.copytree(landing, copy)
    by_table: dict[str, list[str]] = {}
    for case in cases:
        table, sql, _expected, _column = CORRUPTIONS[case]
        by_table.setdefault(table, []).append(sql)
    with duckdb.connect() as conn:
        for table, edits in by_table.items():
            original = copy / f"{table}.parquet"
            conn.execute(f"create or replace table t as select * from read_parquet('{original}')")
            replacements = [edit for edit in edits if not edit.startswith("select")]
            statements = [edit for edit in edits if edit.startswith("select")]
            sql = statements[0] if statements else f"select * replace ({', '.join(replacements)}) from t"
            conn.execute(f"copy ({sql}) to '{copy / (table + '.tmp.parquet')}' (format parquet)")
            os.replace(copy / f"{table}.tmp.parquet", original)
    return copy


@pytest.fixture(scope="module")
def corrupted_runs(builds: dict[str, object]) -> dict[str, DbtRun]:
    return builds["corrupted"]  # type: ignore[return-value]


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_bad_input_fails_the_build_naming_model_and_column(
    case: str, corrupted_runs: dict[str, DbtRun]
) -> None:
    _table, _sql, expected, column = CORRUPTIONS[case]
    run = corrupted_runs["all"]
    assert run.returncode != 0, "dbt build succeeded on bad input"
    assert expected in run.output, run.output[-6000:]
    assert column in run.output, run.output[-6000:]


def test_a_single_bad_value_fails_the_build_and_nothing_python_reads_is_built(
    corrupted_runs: dict[str, DbtRun],
) -> None:
    run = corrupted_runs["alone"]
    _table, _sql, expected, _column = CORRUPTIONS[ALONE]
    assert run.returncode != 0, "dbt build succeeded on a malformed phone number"
    assert expected in run.output, run.output[-6000:]
    for mart in ("customers", "due_messages"):
        assert f"OK created sql table model main.{mart} " not in run.output
        assert f"SKIP relation main.{mart} " in run.output


# --- the staging tests scheduled builds leave to check_landing --------------------------------------
# The pattern tests are this project's generic tests (macros/tests/); check_landing reports a mismatch
# of any of these patterns, or an unknown time zone, as a warning (lifecycle/landing/check.py).
PATTERN_TESTS = {
    "valid_email": EMAIL_PATTERN,
    "valid_e164": E164_PATTERN,
    "valid_locale": LOCALE_PATTERN,
    "valid_country_code": COUNTRY_CODE_PATTERN,
}
SEVERITY_RANK = {"warn": 0, "warning": 0, "error": 1}
REF = re.compile(r"ref\('(\w+)'\)")
CAST_AS = re.compile(r"cast\((\w+) as .+?\) as (\w+)")


def landing_names(model: dict) -> dict[str, str]:
    """Staging column -> landing column, from the staging model's `cast(<landing> as ...) as <staging>`."""
    return {staging: landing for landing, staging in CAST_AS.findall(model["raw_code"])}


def landing_check_severity(test: dict, nodes: dict[str, dict]) -> str | None:
    """How check_landing reports the rows this dbt test fails on: 'error', 'warning', or None when it
    does not make this check (a different rule, a filter, a derived column)."""
    model = nodes[test["attached_node"]]
    table = CONTRACT.get(model["name"].removeprefix("stg_app__"))
    kind, kwargs = test["test_metadata"]["name"], test["test_metadata"]["kwargs"]
    column_name = landing_names(model).get(test["column_name"], test["column_name"])
    column: Column | None = next((c for c in table.columns if c.name == column_name), None) if table else None
    if column is None or test["config"].get("where"):
        return None
    if kind == "not_null":
        return None if column.nullable else "error"
    if kind == "unique":
        return "error" if column.key else None
    if kind == "accepted_values":
        return "error" if tuple(kwargs["values"]) == column.accepted_values else None
    if kind == "accepted_range":
        same = (kwargs.get("min_value"), kwargs.get("max_value")) == (column.min_value, column.max_value)
        return "error" if same and kwargs.get("inclusive", True) else None
    if kind == "relationships":
        parent = nodes["model.lifecycle." + REF.fullmatch(kwargs["to"]).group(1)]
        parent_column = landing_names(parent).get(kwargs["field"], kwargs["field"])
        return (
            "error"
            if column.references == (parent["name"].removeprefix("stg_app__"), parent_column)
            else None
        )
    if kind in PATTERN_TESTS:
        return "warning" if column.pattern == PATTERN_TESTS[kind] else None
    if kind == "valid_time_zone":
        return "warning" if column.iana_time_zone else None
    return None


def test_scheduled_builds_leave_out_exactly_the_tests_check_landing_makes(builds: dict[str, object]) -> None:
    """The daily DAG's builds exclude `tag:landing_checked` because its check_landing task has made the
    same checks first (orchestration.dbt_operator_kwargs). A test may carry the tag only when the landing
    check catches the same rows at the same severity or stricter, and every such test carries it."""
    nodes = builds["manifest"]["nodes"]  # type: ignore[index]
    tests = [node for node in nodes.values() if node["resource_type"] == "test"]
    wrong, checked = [], 0
    for test in tests:
        tagged = LANDING_CHECKED_TAG in test["tags"]
        attached = test.get("attached_node") or ""
        severity = None
        if (
            attached.startswith("model.lifecycle.stg_app__")
            and test.get("test_metadata")
            and test["column_name"]
        ):
            severity = landing_check_severity(test, nodes)
        covered = (
            severity is not None
            and SEVERITY_RANK[severity] >= SEVERITY_RANK[test["config"]["severity"].lower()]
        )
        checked += covered
        if tagged and not covered:
            landing = f"reports it only as a {severity}" if severity else "does not make this check"
            wrong.append(
                f"{test['name']}: tagged {LANDING_CHECKED_TAG}, but check_landing {landing}: untag it"
            )
        elif covered and not tagged:
            wrong.append(
                f"{test['name']}: check_landing makes this check ({severity}) before every scheduled build:"
                f" tag it {LANDING_CHECKED_TAG}"
            )
    assert not wrong, "\n".join(wrong)
    assert checked >= 75  # about 80 of the 193 data tests: what the exclusion saves
