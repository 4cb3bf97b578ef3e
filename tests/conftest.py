"""Shared fixtures: a small generated business and per-test data folders.

Each test that needs data gets paths under pytest's tmp dirs, never the user's ``data/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration once, at import: point it at a private home before any test imports
# it, so the suite never touches the developer's .airflow/ and never loads Airflow's example DAGs.
AIRFLOW_TEST_HOME = Path(tempfile.mkdtemp(prefix="lifecycle-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_TEST_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO_ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "120"
# A failing task fails the test at once instead of waiting out production retry delays.
os.environ["LIFECYCLE_TASK_RETRIES"] = "0"

# A fixed as-of date keeps every test deterministic, whatever day it runs.
AS_OF = date(2026, 11, 20)
SMALL_BUSINESS = {"customers": 1000, "seed": 7, "end_date": AS_OF}


@pytest.fixture(scope="session")
def small_business_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,000-customer business generated once per session. Treat it as read-only: copy it first."""
    from synthetic_business import generate_business

    out = tmp_path_factory.mktemp("landing_small")
    generate_business(out_dir=out, **SMALL_BUSINESS)
    return out


@pytest.fixture
def data_env(tmp_path: Path, small_business_landing: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data folder (landing copy, warehouse, ops store) wired through the LIFECYCLE_* variables."""
    data_dir = tmp_path / "data"
    shutil.copytree(small_business_landing, data_dir / "landing")
    monkeypatch.setenv("LIFECYCLE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LIFECYCLE_LANDING_DIR", str(data_dir / "landing"))
    monkeypatch.setenv("LIFECYCLE_WAREHOUSE_PATH", str(data_dir / "warehouse.duckdb"))
    monkeypatch.setenv("LIFECYCLE_OPS_DB_URL", f"sqlite:///{data_dir / 'ops.sqlite'}")
    monkeypatch.setenv("LIFECYCLE_AS_OF", AS_OF.isoformat())
    return data_dir


@contextlib.contextmanager
def private_postgres(base_url: str, prefix: str = "lifecycle_test") -> Iterator[str]:
    """A fresh PostgreSQL database (URL with password), dropped afterwards."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    try:
        yield sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@contextlib.contextmanager
def migrated_store(url: str) -> Iterator:
    """An operational store at ``url`` with every migration applied."""
    from lifecycle.ops_store import connect, migrate

    engine = connect(url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def postgres_dsn() -> str | None:
    """The PostgreSQL DSN for tests, or None (then tests skip, except under CI=true where they fail)."""
    return os.environ.get("LIFECYCLE_TEST_PG_DSN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_url() -> str:
    import sqlalchemy as sa

    url = postgres_dsn()
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to reach the server means "not available here"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but {url} is unreachable: {exc}")
        pytest.skip(
            f"PostgreSQL not reachable at {url} ({exc.__class__.__name__}); set LIFECYCLE_TEST_PG_DSN"
        )
    return url
