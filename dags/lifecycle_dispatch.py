"""Hourly dispatch: send what the daily run planned as each recipient's local send window opens.

The daily run plans once, but a window (email 9:00 to 20:00, SMS 8:00 to 21:00 in the recipient's
zone) opens at a different UTC hour for every zone, so a single dispatch a day would never reach some
zones inside their window. This DAG claims whatever is due now; the ledger's atomic claim keeps it
safe beside the daily run's own dispatch. Outcomes reach the warehouse with the next daily export.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from lifecycle import daily
from lifecycle.orchestration import DEFAULT_ARGS, DISPATCH_POOL, TAGS


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "dispatch"],
    doc_md=__doc__,
)
def lifecycle_dispatch() -> None:
    @task(pool=DISPATCH_POOL)
    def dispatch_due_messages(ds: str) -> dict[str, int]:
        return daily.dispatch(pendulum.parse(ds).date(), "auto").as_dict()

    dispatch_due_messages()


lifecycle_dispatch()
