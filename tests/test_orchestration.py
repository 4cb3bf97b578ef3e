"""What every scheduled dbt build is given: the logical date, unit tests left to CI, opt-in recent-row tests,
no throw-away file log."""

from __future__ import annotations

import pytest

from lifecycle.orchestration import dbt_operator_kwargs, dbt_vars


def test_scheduled_builds_test_every_row_by_default(monkeypatch):
    monkeypatch.delenv("LIFECYCLE_DBT_RECENT_TEST_DAYS", raising=False)
    assert dbt_vars() == {}


def test_recent_test_days_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LIFECYCLE_DBT_RECENT_TEST_DAYS", " 7 ")
    assert dbt_vars() == {"recent_test_days": 7}


@pytest.mark.parametrize("value", ["seven", "0", "-3", "2.5"])
def test_a_malformed_recent_test_days_names_the_variable_and_the_fix(monkeypatch, value):
    monkeypatch.setenv("LIFECYCLE_DBT_RECENT_TEST_DAYS", value)
    with pytest.raises(ValueError, match=r"LIFECYCLE_DBT_RECENT_TEST_DAYS must be a whole number.*unset it"):
        dbt_vars()


def test_scheduled_builds_leave_unit_tests_to_ci_and_get_the_day_from_the_environment(monkeypatch):
    monkeypatch.delenv("LIFECYCLE_DBT_RECENT_TEST_DAYS", raising=False)
    kwargs = dbt_operator_kwargs()
    assert kwargs["dbt_cmd_flags"] == ["--exclude-resource-type", "unit_test"]
    # the staging tests check_landing has just made (tests/test_dbt_project.py keeps the tag honest)
    assert kwargs["exclude"] == ["tag:landing_checked"]
    # the logical date as an environment variable, so the vars (and dbt's partial parse) stay the same
    assert kwargs["env"]["LIFECYCLE_AS_OF"] == "{{ ds }}"
    assert kwargs["vars"] == {}


def test_scheduled_builds_write_no_file_log_unless_the_operator_asks(monkeypatch):
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    assert dbt_operator_kwargs()["env"]["DBT_LOG_LEVEL_FILE"] == "none"
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    assert dbt_operator_kwargs()["env"]["DBT_LOG_LEVEL_FILE"] == "debug"
