"""Where things live, read once from the environment so every entry point agrees.

Defaults give the embedded set-up (DuckDB warehouse, SQLite operational store, all under ``data/``
in the repository); a deployment overrides them with environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Brand:
    """Who the messages come from. Every email footer shows the postal address (CAN-SPAM)."""

    sender_email: str
    sender_name: str
    postal_address: str
    sms_from: str
    app_url: str


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    warehouse_path: Path
    ops_db_url: str
    dbt_project_dir: Path
    templates_dir: Path
    brand: Brand
    public_base_url: str  # where the webhook receiver and unsubscribe pages are reachable
    unsubscribe_secret: str | None  # signs unsubscribe links; required to send email
    # The daily checks of the big event tables (the landing check's row rules on usage_events, dbt's tests
    # on models with meta.recent_rows_column) cover only this many recent days; None: every row.
    recent_test_days: int | None = None

    @property
    def ops_export_dir(self) -> Path:
        """Where the ledger, events and consent changes are exported for dbt (a source, not a writer)."""
        return self.landing_dir / "ops"

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess, so dbt reads the same paths as Python."""
        return {
            "LIFECYCLE_LANDING_DIR": str(self.landing_dir),
            "LIFECYCLE_WAREHOUSE_PATH": str(self.warehouse_path),
            "DBT_PROFILES_DIR": str(self.dbt_project_dir),
        }


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("LIFECYCLE_DATA_DIR", REPO_ROOT / "data")).resolve()
    landing_dir = Path(os.environ.get("LIFECYCLE_LANDING_DIR", data_dir / "landing")).resolve()
    warehouse_path = Path(os.environ.get("LIFECYCLE_WAREHOUSE_PATH", data_dir / "warehouse.duckdb")).resolve()
    ops_db_url = os.environ.get("LIFECYCLE_OPS_DB_URL", f"sqlite:///{data_dir / 'ops.sqlite'}")
    dbt_project_dir = Path(os.environ.get("LIFECYCLE_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project")).resolve()
    env = os.environ.get
    return Settings(
        data_dir=data_dir,
        landing_dir=landing_dir,
        warehouse_path=warehouse_path,
        ops_db_url=ops_db_url,
        dbt_project_dir=dbt_project_dir,
        templates_dir=Path(env("LIFECYCLE_TEMPLATES_DIR", REPO_ROOT / "include" / "templates")).resolve(),
        brand=Brand(
            sender_email=env("LIFECYCLE_SENDER_EMAIL", "hello@northwind-cloud.example"),
            sender_name=env("LIFECYCLE_SENDER_NAME", "Northwind Cloud"),
            postal_address=env(
                "LIFECYCLE_POSTAL_ADDRESS",
                "Northwind Cloud Inc., 500 Market Street, San Francisco, CA 94105, USA",
            ),
            sms_from=env("LIFECYCLE_SMS_FROM", "+15005550006"),
            app_url=env("LIFECYCLE_APP_URL", "https://app.northwind-cloud.example").rstrip("/"),
        ),
        public_base_url=env("LIFECYCLE_PUBLIC_BASE_URL", "http://127.0.0.1:8030").rstrip("/"),
        unsubscribe_secret=env("LIFECYCLE_UNSUBSCRIBE_SECRET") or None,
        recent_test_days=_recent_test_days(env("LIFECYCLE_DBT_RECENT_TEST_DAYS", "")),
    )


def _recent_test_days(value: str) -> int | None:
    """LIFECYCLE_DBT_RECENT_TEST_DAYS: unset for every row (a deployment's first run), else whole days."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"LIFECYCLE_DBT_RECENT_TEST_DAYS must be a whole number of days (1 or more), got {value!r};"
            " unset it to test every row"
        )
    return int(value)
