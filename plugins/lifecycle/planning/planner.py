"""From a segment model in the warehouse to ``planned`` ledger rows.

Keys are deterministic (enrollment and step), so planning the same day twice inserts nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lifecycle.masking import mask_pii
from lifecycle.ops_store import ledger
from lifecycle.planning.send_window import window_opens_at

log = logging.getLogger(__name__)

EMAIL_WINDOW_START = time(9, 0)
_IDENTITY_COLUMNS = ("customer_id", "contact_id", "sequence", "step")


@dataclass
class PlanReport:
    rows_read: int = 0
    planned: int = 0
    already_planned: int = 0
    rejected: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "planned": self.planned,
            "already_planned": self.already_planned,
            "rejected": len(self.rejected),
        }


def message_key(sequence: str, customer_id: str, enrollment_date: date, step: str) -> str:
    return f"{sequence}:{customer_id}:{enrollment_date.isoformat()}:{step}"


def email_from_segment_row(row: dict[str, Any], as_of: date) -> ledger.PlannedMessage:
    """A ``day_0`` email for one segment row; the row's other columns become template variables."""
    enrollment_id = f"{row['sequence']}:{row['customer_id']}:{as_of.isoformat()}"
    context = {name: value for name, value in row.items() if name not in _IDENTITY_COLUMNS}
    return ledger.PlannedMessage(
        message_key=message_key(row["sequence"], row["customer_id"], as_of, row["step"]),
        enrollment_id=enrollment_id,
        customer_id=row["customer_id"],
        contact_id=row["contact_id"],
        sequence=row["sequence"],
        step=row["step"],
        channel="email",
        template=f"{row['sequence']}_{row['step']}",
        recipient=row["email"],
        time_zone=row.get("time_zone"),
        context=context,
        as_of_date=as_of,
        send_after=window_opens_at(as_of, row.get("time_zone"), EMAIL_WINDOW_START),
    )


def plan_segment(engine: sa.Engine, rows: list[dict[str, Any]], as_of: date) -> PlanReport:
    report = PlanReport(rows_read=len(rows))
    planned: list[ledger.PlannedMessage] = []
    for row in rows:
        missing = [column for column in (*_IDENTITY_COLUMNS, "email") if not row.get(column)]
        if missing:
            problem = f"segment row for customer {row.get('customer_id')!r} lacks {', '.join(missing)}"
            report.rejected.append(problem)
            log.error(
                "%s: not planned; fix the segment model so it never yields such rows", mask_pii(problem)
            )
            continue
        planned.append(email_from_segment_row(row, as_of))
    report.planned = ledger.plan(engine, planned)
    report.already_planned = len(planned) - report.planned
    return report


def plan_from_warehouse(engine: sa.Engine, warehouse_path: Path, model: str, as_of: date) -> PlanReport:
    from lifecycle.warehouse.reader import fetch_model

    return plan_segment(engine, fetch_model(warehouse_path, model), as_of)
