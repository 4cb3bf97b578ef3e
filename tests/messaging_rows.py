"""Rows shaped like dbt's ``due_messages`` / ``held_out_messages`` contract, and a DuckDB warehouse
holding them, for testing the planner and the preview without building the dbt project."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Any

import duckdb
import yaml

from lifecycle.planning.planner import CONTRACT_COLUMNS
from lifecycle.planning.send_window import window_opens_at
from lifecycle.sequences import sample_context

AS_OF = date(2026, 11, 20)
TEMPLATE_FIELDS = ("entry_reason", "sequence", "step")
# The sequences of the interface with the dbt side: (name, [(step, channel)]).
INTERFACE = {
    "welcome": [("day_0", "email"), ("day_2", "email"), ("day_5", "sms_or_email")],
    "cross_sell": [("day_0", "email"), ("day_4", "email")],
    "annual_upsell": [("day_0", "email"), ("day_3", "email"), ("day_6", "sms")],
    "renewal_reminder": [("renewal_30d", "email"), ("renewal_7d", "email"), ("renewal_1d", "email")],
}


def write_project(
    root: Path, sequences: dict[str, list[tuple[str, str]]] | None = None, **step_overrides
) -> Path:
    """A dbt project folder with one segment YAML per sequence; ``step_overrides`` maps
    "<sequence>.<step>" to keys replacing that step's definition."""
    folder = root / "dbt_project" / "models" / "segments"
    folder.mkdir(parents=True)
    for name, steps in (INTERFACE if sequences is None else sequences).items():
        definition = [
            {"name": step, "channel": channel, "delay_days": 0, **step_overrides.get(f"{name}.{step}", {})}
            for step, channel in steps
        ]
        model = {
            "name": f"segment_{name}",
            "config": {"meta": {"sequence": {"name": name, "steps": definition}}},
        }
        (folder / f"segment_{name}.yml").write_text(yaml.safe_dump({"version": 2, "models": [model]}))
    return root / "dbt_project"


def personalization(sequence: str, **overrides: Any) -> dict[str, Any]:
    """The contract's personalization fields for ``sequence`` with sample values."""
    fields = {k: v for k, v in sample_context(sequence, "any").items() if k not in TEMPLATE_FIELDS}
    return {**fields, **overrides}


def contract_row(
    i: int,
    sequence: str = "welcome",
    step: str = "day_0",
    channel: str = "email",
    *,
    time_zone: str = "America/New_York",
    as_of: date = AS_OF,
    enrolled_on: date | None = None,
    window: tuple[time, time] = (time(9), time(21)),
    fields: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """One valid contract row; ``overrides`` replace any column (``None`` to blank it)."""
    enrolled_on = enrolled_on or as_of
    customer = f"C{i:05d}"
    enrollment_id = f"{sequence}:{customer}:{enrolled_on}"
    recipient = f"+1415555{i:04d}" if channel == "sms" else f"user{i}@example.com"
    row = {
        "message_key": f"{enrollment_id}:{step}",
        "enrollment_id": enrollment_id,
        "customer_id": customer,
        "contact_id": f"P{i:05d}",
        "sequence": sequence,
        "step": step,
        "step_number": 1,
        "channel": channel,
        "template": f"{sequence}_{step}",
        "recipient": recipient,
        "time_zone": time_zone,
        "send_after": window_opens_at(as_of, time_zone, window[0]).replace(tzinfo=None),
        "send_before": window_opens_at(as_of, time_zone, window[1]).replace(tzinfo=None),
        "priority": 3,
        "entry_reason": f"Since customer {customer} entered {sequence} on {enrolled_on}",
        "personalization_json": json.dumps(
            personalization(sequence, **{"first_name": f"User{i}", **(fields or {})})
        ),
        "enrolled_on": enrolled_on,
        "as_of_date": as_of,
    }
    row.update(overrides)
    return row


_DUCKDB_TYPES = {
    "step_number": "integer",
    "priority": "integer",
    "send_after": "timestamp",
    "send_before": "timestamp",
    "enrolled_on": "date",
    "as_of_date": "date",
}


def write_warehouse(
    path: Path,
    due: list[dict[str, Any]],
    held_out: list[dict[str, Any]] = (),  # type: ignore[assignment]
    exclusions: list[dict[str, Any]] = (),  # type: ignore[assignment]
    drop_column: str | None = None,
) -> Path:
    """A DuckDB file with the three messaging models (``drop_column`` leaves one contract column out)."""
    columns = [c for c in CONTRACT_COLUMNS if c != drop_column]
    with duckdb.connect(str(path)) as conn:
        for model, rows in (("due_messages", due), ("held_out_messages", held_out)):
            ddl = ", ".join(f"{c} {_DUCKDB_TYPES.get(c, 'varchar')}" for c in columns)
            conn.execute(f"create or replace table {model} ({ddl})")
            if rows:
                conn.executemany(
                    f"insert into {model} values ({', '.join('?' for _ in columns)})",
                    [[row[c] for c in columns] for row in rows],
                )
        conn.execute(
            "create or replace table message_exclusions (customer_id varchar, sequence varchar, step varchar,"
            " reason_code varchar, reason varchar, as_of_date date)"
        )
        if exclusions:
            conn.executemany(
                "insert into message_exclusions values (?, ?, ?, ?, ?, ?)",
                [
                    [
                        e["customer_id"],
                        e["sequence"],
                        e["step"],
                        e["reason_code"],
                        e["reason"],
                        e["as_of_date"],
                    ]
                    for e in exclusions
                ],
            )
    return path
