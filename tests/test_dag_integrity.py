"""Every DAG imports, has no cycles, and carries the tags, retries and docs operators rely on."""

from __future__ import annotations

import itertools
import os
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def dagbag():
    """The DAGs as production parses them: with the default retries, not the suite's fail-fast zero."""
    from airflow.dag_processing.dagbag import DagBag

    test_retries = os.environ.pop("LIFECYCLE_TASK_RETRIES", None)
    sys.modules.pop("lifecycle.orchestration", None)  # re-read the settings without the override
    try:
        yield DagBag(dag_folder=str(REPO_ROOT / "dags"))
    finally:
        if test_retries is not None:
            os.environ["LIFECYCLE_TASK_RETRIES"] = test_retries


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}
    assert "lifecycle_daily" in dagbag.dag_ids


def test_dags_are_documented_tagged_and_retried(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md, f"{dag_id} needs doc_md"
        assert "lifecycle" in dag.tags, f"{dag_id} needs the lifecycle tag"
        assert dag.max_active_runs == 1, f"{dag_id} shares state across runs: max_active_runs=1"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} needs retries"


def test_daily_dag_runs_the_pipeline_in_order(dagbag):
    dag = dagbag.dags["lifecycle_daily"]
    order = [
        "check_landing",
        "export_ledger",
        "dbt_build",
        "plan_messages",
        "dispatch_messages",
        "export_outcomes",
        "dbt_build_outcomes",
    ]
    assert sorted(dag.task_ids) == sorted(order)
    for upstream, downstream in itertools.pairwise(order):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert dag.get_task("dbt_build").pool == "dbt_warehouse"
    assert dag.get_task("dispatch_messages").pool == "provider_dispatch"


def test_dispatch_dag_runs_hourly_in_the_provider_pool(dagbag):
    dag = dagbag.dags["lifecycle_dispatch"]
    assert dag.task_ids == ["dispatch_due_messages"]
    assert dag.get_task("dispatch_due_messages").pool == "provider_dispatch"
    assert dag.max_active_runs == 1 and not dag.catchup
