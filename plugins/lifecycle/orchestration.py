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


def dbt_profile_config() -> Any:
    from cosmos import ProfileConfig

    settings = load_settings()
    return ProfileConfig(
        profile_name="lifecycle",
        target_name="duckdb",
        profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
    )


def dbt_operator_kwargs() -> dict[str, Any]:
    """Arguments for a Cosmos dbt operator: the project, the profile, and the day to compute as of."""
    settings = load_settings()
    return {
        "project_dir": str(settings.dbt_project_dir),
        "profile_config": dbt_profile_config(),
        "vars": {"as_of_date": "{{ ds }}"},
        "env": settings.dbt_env(),
        "install_deps": False,
        "pool": DBT_POOL,
    }
