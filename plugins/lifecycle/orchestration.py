"""What every DAG shares: default task arguments, the dbt profile, and how dbt gets its paths."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from lifecycle.settings import load_settings

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "lifecycle",
    # Tests and one-off `airflow dags test` runs set LIFECYCLE_TASK_RETRIES=0 to fail fast.
    "retries": int(os.environ.get("LIFECYCLE_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
}
# Pools bound what touches a shared resource: one dbt writer per warehouse, bounded provider traffic.
DBT_POOL = "dbt_warehouse"
DISPATCH_POOL = "provider_dispatch"
TAGS = ["lifecycle"]
# dbt tests on the app staging models that `check_landing` (lifecycle.landing.check) makes too, on the
# same files, at the same severity or stricter, before each scheduled build; tests/test_dbt_project.py
# keeps the tag on exactly those tests.
LANDING_CHECKED_TAG = "landing_checked"


def dbt_profile_config() -> Any:
    from cosmos import ProfileConfig

    settings = load_settings()
    return ProfileConfig(
        profile_name="lifecycle",
        target_name="duckdb",
        profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
    )


def dbt_operator_kwargs() -> dict[str, Any]:
    """Arguments for a Cosmos dbt operator: the project, the profile, and the day to compute as of.

    Scheduled builds leave out dbt's unit tests: their inputs are fixed rows in the YAML, so they test
    the code, not the day's data, and CI runs them on every change (`make test`); in a daily build they
    are a tenth of the nodes. They also leave out the staging tests tagged ``landing_checked``: the DAG's
    `check_landing` task has just made the same checks on the same files, in one scan per file, and
    stops the run on any error, so dbt would only repeat them (79 of the 193 data tests). Every
    other data test runs; builds outside the DAG (`make dbt-build`, the tests) run them all.
    """
    settings = load_settings()
    return {
        "project_dir": str(settings.dbt_project_dir),
        "profile_config": dbt_profile_config(),
        "vars": dbt_vars(),
        "dbt_cmd_flags": ["--exclude-resource-type", "unit_test"],
        "exclude": [f"tag:{LANDING_CHECKED_TAG}"],
        # the day goes in the environment, not in --vars: a var that changes makes dbt parse the whole
        # project again every day (about 3 s), the environment variable is read only when models run
        "env": {**settings.dbt_env(), "LIFECYCLE_AS_OF": "{{ ds }}", **dbt_file_logging()},
        "install_deps": False,
        "pool": DBT_POOL,
    }


def dbt_file_logging() -> dict[str, str]:
    """dbt's file log level for scheduled builds: none unless DBT_LOG_LEVEL_FILE says otherwise.

    Cosmos runs dbt in a temporary copy of the project, so the debug log dbt writes there (every query
    of every node) is deleted with it when the task ends: writing it only costs time (up to a second a
    build, docs/benchmarks.md). What an operator reads, the task log, is dbt's console output.
    """
    return {"DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "").strip() or "none"}


def dbt_vars() -> dict[str, Any]:
    """``recent_test_days`` when LIFECYCLE_DBT_RECENT_TEST_DAYS is set: the tests on the big event tables
    then check only that many recent days instead of all history (opt-in, because the first build of a
    deployment should test every row; docs/operations.md). Vars stay the same from day to day."""
    recent = load_settings().recent_test_days
    return {} if recent is None else {"recent_test_days": recent}
