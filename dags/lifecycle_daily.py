"""Daily lifecycle run: check the landing files, build the warehouse as of the logical date with dbt,
plan who is due into the ledger, send, export the outcomes and build them back into the warehouse."""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task
from cosmos.operators.local import DbtBuildLocalOperator

from lifecycle import daily
from lifecycle.orchestration import DEFAULT_ARGS, DISPATCH_POOL, TAGS, dbt_operator_kwargs


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "daily"],
    params={
        "send_mode": Param(
            "auto",
            enum=["auto", "live", "simulate"],
            description="auto: send live only when the logical date is recent; backfills simulate.",
        )
    },
    doc_md=__doc__,
)
def lifecycle_daily() -> None:
    @task
    def check_landing() -> int:
        return daily.check_landing_files()

    @task
    def export_ledger() -> dict[str, int]:
        return daily.export_ops()

    @task
    def plan_messages(ds: str) -> dict:
        return daily.plan(pendulum.parse(ds).date()).as_dict()

    @task(pool=DISPATCH_POOL)
    def dispatch_messages(ds: str, params: dict) -> dict[str, int]:
        return daily.dispatch(pendulum.parse(ds).date(), params["send_mode"]).as_dict()

    @task
    def export_outcomes() -> dict[str, int]:
        return daily.export_ops()

    build_warehouse = DbtBuildLocalOperator(task_id="dbt_build", **dbt_operator_kwargs())
    build_outcomes = DbtBuildLocalOperator(
        task_id="dbt_build_outcomes", select=["source:ops+"], **dbt_operator_kwargs()
    )

    (
        check_landing()
        >> export_ledger()
        >> build_warehouse
        >> plan_messages()
        >> dispatch_messages()
        >> export_outcomes()
        >> build_outcomes
    )


lifecycle_daily()
