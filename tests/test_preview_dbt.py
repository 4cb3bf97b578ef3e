"""The preview on a dbt-built generated business, and a marketer's edit: changing one WHERE clause in a
segment model (in a copy of the dbt project) changes the preview, with no Python touched."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from lifecycle.export.ops_export import export_ops_store
from lifecycle.ops_store import connect, migrate
from lifecycle.planning.planner import DUE_MODEL, read_model
from lifecycle.preview import build_preview, format_preview, save
from lifecycle.sequences import PERSONALIZATION_FIELDS, validate
from lifecycle.settings import REPO_ROOT, load_settings
from tests.conftest import AS_OF

pytestmark = pytest.mark.integration

DBT = REPO_ROOT / ".venv" / "bin" / "dbt"
PREVIEW_MODELS = ("+due_messages", "+held_out_messages", "+message_exclusions")
# The marketer's edit: welcome only for trial starts, no longer for direct purchases.
WELCOME_WHERE = "and subscription_status in ('active', 'trialing')"
WELCOME_WHERE_EDITED = "and subscription_status in ('trialing')"


def dbt_build(project: Path, landing: Path, warehouse: Path, as_of: date, work: Path, *select: str) -> None:
    """`dbt build` of the selected models and seeds, without tests (the preview needs the models)."""
    env = {
        **os.environ,
        "LIFECYCLE_LANDING_DIR": str(landing),
        "LIFECYCLE_WAREHOUSE_PATH": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("LIFECYCLE_AS_OF", None)
    command = [
        str(DBT), "build", "--exclude-resource-type", "test", "unit_test", "--project-dir", str(project), "--profiles-dir", str(project), "--target", "duckdb",
        "--vars", f"{{as_of_date: {as_of.isoformat()}}}", "--select", *select,
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"dbt build failed:\n{(done.stdout + done.stderr)[-6000:]}"


@pytest.fixture(scope="module")
def built(small_business_landing: Path, tmp_path_factory: pytest.TempPathFactory):
    """The 1,000-customer business with an empty ledger exported, built as of AS_OF."""
    root = tmp_path_factory.mktemp("preview_dbt")
    landing = root / "landing"
    shutil.copytree(small_business_landing, landing)
    engine = connect(f"sqlite:///{root / 'ops.sqlite'}")
    migrate(engine)
    export_ops_store(engine, landing / "ops")
    engine.dispose()
    project = root / "dbt_project"
    shutil.copytree(REPO_ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    dbt_build(project, landing, root / "warehouse.duckdb", AS_OF, root / "dbt", *PREVIEW_MODELS)
    settings = dataclasses.replace(
        load_settings(),
        data_dir=root / "data",
        landing_dir=landing,
        warehouse_path=root / "warehouse.duckdb",
        ops_db_url=f"sqlite:///{root / 'ops.sqlite'}",
        dbt_project_dir=project,
    )
    return settings


def test_the_projects_sequences_validate_and_list_the_contracts_fields():
    sequences = validate(
        REPO_ROOT / "dbt_project", REPO_ROOT / "include" / "templates", load_settings().brand
    )
    assert {s.name: set(s.personalization) for s in sequences} == {
        name: set(fields) for name, fields in PERSONALIZATION_FIELDS.items()
    }


def test_preview_of_a_generated_business(built):
    settings = built
    preview = build_preview(settings, AS_OF, sample=2)
    assert preview.rejected == []
    due = preview.counts.due
    assert {sequence for sequence, _, _ in due} == {
        "welcome",
        "cross_sell",
        "annual_upsell",
        "renewal_reminder",
    }
    assert sum(preview.counts.held_out.values()) > 0 and preview.exclusions
    by_sequence = {}
    for sample in preview.samples:
        by_sequence.setdefault(sample.sequence, []).append(sample)
        assert "***" in sample.recipient  # masked
        assert sample.body and "would fail at send time" not in sample.body
    assert {name: len(samples) for name, samples in by_sequence.items()} == {
        "welcome": 2,
        "cross_sell": 2,
        "annual_upsell": 2,
        "renewal_reminder": min(2, sum(n for (s, _, _), n in due.items() if s == "renewal_reminder")),
    }
    text = format_preview(preview)
    assert "Due, by sequence, step and channel:" in text and "Since your team" in text


def test_editing_one_where_clause_changes_the_preview_with_no_python_touched(built, tmp_path):
    settings = built
    before = build_preview(settings, AS_OF, sample=0)
    save(settings, before)
    # The marketer's copy of the project: one WHERE clause edited, the warehouse rebuilt from the segment on.
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.dbt_project_dir, project)
    segment = project / "models" / "segments" / "segment_welcome.sql"
    sql = segment.read_text()
    assert WELCOME_WHERE in sql, "the WHERE clause this test edits is no longer in segment_welcome.sql"
    segment.write_text(sql.replace(WELCOME_WHERE, WELCOME_WHERE_EDITED))
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(settings.warehouse_path, warehouse)
    dbt_build(project, settings.landing_dir, warehouse, AS_OF, tmp_path / "dbt", "segment_welcome+")
    edited = dataclasses.replace(settings, warehouse_path=warehouse, dbt_project_dir=project)

    after = build_preview(edited, AS_OF, sample=0)
    key = ("welcome", "day_0", "email")
    # The welcome messages that remain are exactly the trial starts among those due before the edit.
    welcome_before = [
        json.loads(row["personalization_json"])
        for row in read_model(settings.warehouse_path, DUE_MODEL).rows
        if (row["sequence"], row["step"], row["channel"]) == key
    ]
    assert (
        0
        < after.counts.due[key]
        == sum(fields["is_trial"] for fields in welcome_before)
        < before.counts.due[key]
    )
    text = format_preview(after)
    assert f"  welcome/day_0/email: {before.counts.due[key]} -> {after.counts.due[key]}" in text
