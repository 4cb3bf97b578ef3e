"""From dbt's ``due_messages`` and ``held_out_messages`` to ledger rows, idempotently.

dbt decides who is due (segments, goal exits, suppression, caps, quiet hours, holdouts); the planner
only checks each row against the contract (``dbt_project/models/marts/messaging/due_messages.yml``),
turns it into a ledger row and inserts it with ``on conflict do nothing``, so planning a day twice adds nothing.
Holdout rows are recorded as ``held_out`` (never sent, used for lift). A bad row is rejected with a
reason naming it while the rest are planned; a model that breaks the contract stops the run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lifecycle.masking import mask_pii
from lifecycle.ops_store import ledger
from lifecycle.ops_store.schema import HELD_OUT, PLANNED
from lifecycle.planning.send_window import resolve_zone
from lifecycle.sequences import personalization_problems, template_context

log = logging.getLogger(__name__)

DUE_MODEL = "due_messages"
HELD_OUT_MODEL = "held_out_messages"
CONTRACT_COLUMNS = (
    "message_key",
    "enrollment_id",
    "customer_id",
    "contact_id",
    "sequence",
    "step",
    "step_number",
    "channel",
    "template",
    "recipient",
    "time_zone",
    "send_after",
    "send_before",
    "priority",
    "entry_reason",
    "personalization_json",
    "enrolled_on",
    "as_of_date",
)
CHANNELS = ("email", "sms")
_LOGGED_REJECTIONS = 20


class ContractViolation(RuntimeError):
    """A warehouse model the planner reads does not have the agreed shape: nothing is planned."""


class RowProblem(ValueError):
    """One row the planner cannot use; the message names the row and what is wrong with it."""


@dataclass
class PlanReport:
    rows_read: int = 0
    planned: int = 0
    held_out: int = 0
    already_planned: int = 0
    rejected: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "planned": self.planned,
            "held_out": self.held_out,
            "already_planned": self.already_planned,
            "rejected": len(self.rejected),
        }


@dataclass(frozen=True)
class ModelRows:
    """The rows of one contract model, as read from the warehouse."""

    model: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]

    def check_contract(self, as_of: date) -> None:
        """Fail fast on a missing column or a model built for another day, naming model and fix."""
        missing = [column for column in CONTRACT_COLUMNS if column not in self.columns]
        if missing:
            raise ContractViolation(
                f"model {self.model} lacks contract column(s) {', '.join(missing)}: add them to "
                f"dbt_project/models/marts/messaging/{self.model}.sql (and its YAML contract); nothing was planned"
            )
        built_for = {row["as_of_date"] for row in self.rows} - {as_of}
        if built_for:
            days = ", ".join(sorted(str(day) for day in built_for))
            raise ContractViolation(
                f"model {self.model} was built as of {days}, not {as_of}: run "
                f"`dbt build --vars '{{as_of_date: {as_of}}}'` first; nothing was planned"
            )


def _row_name(model: str, index: int, row: dict[str, Any]) -> str:
    if row.get("message_key"):
        return f"{model} row {row['message_key']!r}"
    who = ", ".join(f"{c}={row[c]!r}" for c in ("sequence", "customer_id", "step") if row.get(c))
    return f"{model} row #{index + 1}" + (f" ({who})" if who else "")


def _utc(value: Any, column: str) -> datetime:
    if not isinstance(value, datetime):
        raise RowProblem(f"{column} is {value!r}, not a timestamp")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _personalization(raw: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError as exc:
        raise RowProblem(f"personalization_json is not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise RowProblem(f"personalization_json is not a JSON object: {str(raw)[:80]!r}")
    return parsed


def _context(row: dict[str, Any]) -> dict[str, Any]:
    personalization = _personalization(row["personalization_json"])
    problems = personalization_problems(row["sequence"], personalization)
    if problems:
        raise RowProblem(f"personalization_json {'; '.join(problems)}")
    return template_context(row["sequence"], row["step"], row["entry_reason"], personalization)


def message_from_row(row: dict[str, Any]) -> ledger.PlannedMessage:
    """One ledger row from one contract row; raises RowProblem (without the row's name) when unusable."""
    missing = [column for column in CONTRACT_COLUMNS if row.get(column) is None or row.get(column) == ""]
    if missing:
        raise RowProblem(f"lacks {', '.join(missing)}")
    if row["channel"] not in CHANNELS:
        raise RowProblem(f"channel {row['channel']!r} is unknown (expected {' or '.join(CHANNELS)})")
    enrollment_id = f"{row['sequence']}:{row['customer_id']}:{row['enrolled_on']}"
    if row["enrollment_id"] != enrollment_id or row["message_key"] != f"{enrollment_id}:{row['step']}":
        raise RowProblem(
            f"message_key/enrollment_id are not '<sequence>:<customer_id>:<enrolled_on>[:<step>]' ({enrollment_id})"
        )
    if not resolve_zone(row["time_zone"])[1]:
        raise RowProblem(f"time_zone {row['time_zone']!r} is not an IANA zone")
    send_after, send_before = _utc(row["send_after"], "send_after"), _utc(row["send_before"], "send_before")
    if send_before <= send_after:
        raise RowProblem(f"the send window is empty (send_after {send_after} >= send_before {send_before})")
    return ledger.PlannedMessage(
        message_key=row["message_key"],
        enrollment_id=row["enrollment_id"],
        customer_id=row["customer_id"],
        contact_id=row["contact_id"],
        sequence=row["sequence"],
        step=row["step"],
        channel=row["channel"],
        template=row["template"],
        recipient=row["recipient"],
        time_zone=row["time_zone"],
        context=_context(row),
        as_of_date=row["as_of_date"],
        send_after=send_after,
        send_before=send_before,
    )


@dataclass
class ParsedRows:
    """Usable messages by model, and the rejections naming each unusable row."""

    messages: dict[str, list[ledger.PlannedMessage]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)


def parse_models(models: Iterable[ModelRows], as_of: date) -> ParsedRows:
    """Check each model's contract (fail fast) and each row (reject alone); a key may appear once."""
    parsed = ParsedRows()
    seen: dict[str, str] = {}
    for model in models:
        model.check_contract(as_of)
        usable = parsed.messages.setdefault(model.model, [])
        for index, row in enumerate(model.rows):
            name = _row_name(model.model, index, row)
            try:
                message = message_from_row(row)
            except RowProblem as exc:
                parsed.rejected.append(f"{name}: {exc}")
                continue
            if message.message_key in seen:
                parsed.rejected.append(f"{name}: message_key also in {seen[message.message_key]}")
                continue
            seen[message.message_key] = name
            usable.append(message)
    return parsed


def read_model(warehouse_path: Path, model: str) -> ModelRows:
    """All rows of a model with its column names (known even when it is empty), read-only."""
    from lifecycle.warehouse.reader import qualified_name, read_only

    with read_only(warehouse_path) as conn:
        cursor = conn.execute(f"select * from {qualified_name(conn, model)}")
        columns = tuple(d[0] for d in cursor.description)
        return ModelRows(model, columns, [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()])


def plan_models(engine: sa.Engine, due: ModelRows, held_out: ModelRows, as_of: date) -> PlanReport:
    parsed = parse_models((due, held_out), as_of)
    report = PlanReport(rows_read=len(due.rows) + len(held_out.rows), rejected=parsed.rejected)
    for problem in parsed.rejected[:_LOGGED_REJECTIONS]:
        log.error("not planned: %s; fix the model so it never yields such rows", mask_pii(problem))
    if len(parsed.rejected) > _LOGGED_REJECTIONS:
        log.error("... and %d more rows not planned", len(parsed.rejected) - _LOGGED_REJECTIONS)
    due_messages, held_messages = parsed.messages[due.model], parsed.messages[held_out.model]
    report.planned = ledger.plan(engine, due_messages, state=PLANNED)
    report.held_out = ledger.plan(engine, held_messages, state=HELD_OUT)
    report.already_planned = len(due_messages) + len(held_messages) - report.planned - report.held_out
    return report


def plan_from_warehouse(engine: sa.Engine, warehouse_path: Path, as_of: date) -> PlanReport:
    due = read_model(warehouse_path, DUE_MODEL)
    held_out = read_model(warehouse_path, HELD_OUT_MODEL)
    return plan_models(engine, due, held_out, as_of)
