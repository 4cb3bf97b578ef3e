"""What would go out on a day, before it does: counts by sequence, step and channel, holdouts,
exclusions by reason, the change from the previous day, and fully rendered sample messages.

The preview reads what dbt built (``due_messages``, ``held_out_messages``, ``message_exclusions``)
through the same row checks as the planner and renders through the same templates and context as the
dispatcher, so what it shows is what would be sent. It sends nothing and writes nothing to the
ledger; it keeps its own counts under ``<data dir>/previews/`` so the next preview can show what a
segment edit changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lifecycle.dispatch.dispatcher import channel_context
from lifecycle.masking import mask_pii
from lifecycle.ops_store import connect, ledger
from lifecycle.ops_store.schema import HELD_OUT
from lifecycle.planning.planner import DUE_MODEL, HELD_OUT_MODEL, ContractViolation, parse_models, read_model
from lifecycle.planning.send_window import resolve_zone
from lifecycle.sequences import validate
from lifecycle.settings import Settings
from lifecycle.sms_rules import num_segments
from lifecycle.templating import TemplateProblem, TemplateRenderer
from lifecycle.unsubscribe import unsubscribe_url

Key = tuple[str, ...]  # (sequence, step, channel) for due messages, (sequence, step) for holdouts
_SHOWN_REJECTIONS = 10


@dataclass(frozen=True)
class Counts:
    """The numbers a preview compares: due by (sequence, step, channel) and held out by (sequence, step)."""

    due: dict[Key, int]
    held_out: dict[Key, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "due": [[*key, n] for key, n in sorted(self.due.items())],
            "held_out": [[*key, n] for key, n in sorted(self.held_out.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Counts:
        return cls(
            due={tuple(row[:-1]): row[-1] for row in data["due"]},
            held_out={tuple(row[:-1]): row[-1] for row in data["held_out"]},
        )


@dataclass(frozen=True)
class Baseline:
    """Counts to compare with, and where they came from."""

    label: str
    counts: Counts


@dataclass(frozen=True)
class Sample:
    sequence: str
    step: str
    channel: str
    recipient: str  # masked
    time_zone: str
    send_after: datetime
    send_before: datetime
    subject: str | None  # email only
    body: str  # the text part of an email, the SMS body
    segments: int | None  # SMS only


@dataclass
class Preview:
    as_of: date
    counts: Counts
    exclusions: dict[tuple[str, str], int]  # (sequence, reason_code) -> customers
    exclusion_examples: dict[tuple[str, str], str]  # one human-readable reason per (sequence, code)
    rejected: list[str]
    samples: list[Sample] = field(default_factory=list)
    previous_day: Baseline | None = None
    last_preview: Baseline | None = None
    already_planned: int = 0  # the ledger's messages for this day (dbt no longer lists them as due)


def _ledger_counts(settings: Settings, day: date) -> Counts | None:
    """What the ledger planned for ``day``, read-only; None when there is no ledger or nothing that day."""
    url = settings.ops_db_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return None
    engine = connect(url)
    try:
        rows = ledger.day_counts(engine, day)
    except sa.exc.DBAPIError:  # no ledger table yet: nothing was ever planned
        return None
    finally:
        engine.dispose()
    if not rows:
        return None
    due: Counter[Key] = Counter()
    held: Counter[Key] = Counter()
    for (sequence, step, channel, state), n in rows.items():
        if state == HELD_OUT:
            held[(sequence, step)] += n
        else:
            due[(sequence, step, channel)] += n
    return Counts(dict(due), dict(held))


def saved_path(settings: Settings, day: date) -> Path:
    return settings.data_dir / "previews" / f"{day.isoformat()}.json"


def _saved(settings: Settings, day: date) -> tuple[datetime, Counts] | None:
    path = saved_path(settings, day)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return datetime.fromisoformat(data["saved_at"]), Counts.from_json(data)


def save(settings: Settings, preview: Preview, now: datetime | None = None) -> Path:
    """Keep this preview's counts (atomically) for the next preview's comparison."""
    path = saved_path(settings, preview.as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"saved_at": (now or datetime.now(UTC)).isoformat(), **preview.counts.to_json()}
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(payload, indent=1))
    temporary.replace(path)
    return path


def _previous_day(settings: Settings, as_of: date) -> Baseline | None:
    day = as_of - timedelta(days=1)
    planned = _ledger_counts(settings, day)
    if planned is not None:
        return Baseline(f"the ledger's plan for {day}", planned)
    saved = _saved(settings, day)
    if saved is not None:
        return Baseline(f"the preview of {day} saved {saved[0]:%Y-%m-%d %H:%M} UTC", saved[1])
    return None


def _spread(rows: list[Any], per_sequence: int) -> list[Any]:
    """A deterministic sample of up to ``per_sequence`` messages per sequence, spread over its steps
    and channels (round robin), chosen by a hash of the key so it does not follow the row order."""
    by_sequence: dict[str, dict[tuple[str, str], list[Any]]] = defaultdict(lambda: defaultdict(list))
    ordered = sorted(rows, key=lambda m: hashlib.sha256(m.message_key.encode()).hexdigest())
    for message in ordered:
        by_sequence[message.sequence][(message.step, message.channel)].append(message)
    chosen = []
    for sequence in sorted(by_sequence):
        queues = [by_sequence[sequence][k] for k in sorted(by_sequence[sequence])]
        picked: list[Any] = []
        while len(picked) < per_sequence and any(queues):
            for queue in queues:
                if queue and len(picked) < per_sequence:
                    picked.append(queue.pop(0))
        chosen += picked
    return chosen


def _render(settings: Settings, renderer: TemplateRenderer, message: ledger.PlannedMessage) -> Sample:
    link = unsubscribe_url(
        settings.public_base_url, settings.unsubscribe_secret or "preview", message.message_key
    )
    context = channel_context(message.context, settings.brand, message.channel, link)
    subject, segments = None, None
    try:
        if message.channel == "sms":
            body = renderer.render_sms(message.template, context)
            segments = num_segments(body)
        else:
            email = renderer.render_email(message.template, context)
            subject, body = email.subject, email.text
    except TemplateProblem as exc:  # the row's own values broke it: show why, as the dispatcher would fail it
        body = f"(would fail at send time: {exc})"
    assert message.send_before is not None
    return Sample(
        sequence=message.sequence,
        step=message.step,
        channel=message.channel,
        recipient=mask_pii(message.recipient),
        time_zone=message.time_zone or "UTC",
        send_after=message.send_after,
        send_before=message.send_before,
        subject=None if subject is None else mask_pii(subject),
        body=mask_pii(body),
        segments=segments,
    )


EXCLUSIONS_MODEL = "message_exclusions"
EXCLUSION_COLUMNS = ("customer_id", "sequence", "step", "reason_code", "reason", "as_of_date")


def _exclusions(
    warehouse_path: Path, as_of: date
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], str]]:
    """Customers not due today by (sequence, reason_code), with one human-readable reason each."""
    from lifecycle.warehouse.reader import qualified_name, read_only

    with read_only(warehouse_path) as conn:
        name = qualified_name(conn, EXCLUSIONS_MODEL)
        columns = {d[0] for d in conn.execute(f"select * from {name} limit 0").description}
        missing = [c for c in EXCLUSION_COLUMNS if c not in columns]
        if missing:
            raise ContractViolation(
                f"model {EXCLUSIONS_MODEL} lacks contract column(s) {', '.join(missing)}: add them to "
                f"dbt_project/models/marts/messaging/{EXCLUSIONS_MODEL}.sql (and its YAML contract)"
            )
        # It always has rows when anyone is eligible: it tells a warehouse built for another day even
        # when nobody is due.
        built_for = {row[0] for row in conn.execute(f"select distinct as_of_date from {name}").fetchall()}
        if built_for - {as_of}:
            days = ", ".join(sorted(str(day) for day in built_for))
            raise ContractViolation(
                f"model {EXCLUSIONS_MODEL} was built as of {days}, not {as_of}: run "
                f"`dbt build --vars '{{as_of_date: {as_of}}}'` first (make preview AS_OF={as_of})"
            )
        rows = conn.execute(
            f"select sequence, reason_code, count(*), min(reason) from {name} group by sequence, reason_code"
        ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}, {(r[0], r[1]): r[3] for r in rows}


def build_preview(settings: Settings, as_of: date, sample: int = 2) -> Preview:
    """The preview of ``as_of`` from the warehouse dbt built for that day (fails fast if it was
    built for another day, or if a sequence's templates do not render)."""
    validate(settings.dbt_project_dir, settings.templates_dir, settings.brand)
    due = read_model(settings.warehouse_path, DUE_MODEL)
    held = read_model(settings.warehouse_path, HELD_OUT_MODEL)
    parsed = parse_models((due, held), as_of)
    due_messages = parsed.messages[DUE_MODEL]
    counts = Counts(
        due=dict(Counter((m.sequence, m.step, m.channel) for m in due_messages)),
        held_out=dict(Counter((m.sequence, m.step) for m in parsed.messages[HELD_OUT_MODEL])),
    )
    exclusions, examples = _exclusions(settings.warehouse_path, as_of)
    renderer = TemplateRenderer(settings.templates_dir)
    preview = Preview(
        as_of=as_of,
        counts=counts,
        exclusions=dict(exclusions),
        exclusion_examples=examples,
        rejected=parsed.rejected,
        samples=[_render(settings, renderer, m) for m in _spread(due_messages, sample)],
        previous_day=_previous_day(settings, as_of),
    )
    planned_today = _ledger_counts(settings, as_of)
    if planned_today is not None:
        preview.already_planned = sum(planned_today.due.values()) + sum(planned_today.held_out.values())
    saved = _saved(settings, as_of)
    if saved is not None:
        preview.last_preview = Baseline(f"your last preview of {as_of} ({saved[0]:%H:%M} UTC)", saved[1])
    return preview


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------


def _change(now: int, before: int | None) -> str:
    if before is None:
        return ""
    delta = now - before
    return "0" if delta == 0 else f"{delta:+d}"


def _table(headers: list[str], rows: list[list[Any]], numbers: range) -> list[str]:
    """Aligned columns, the ``numbers`` columns right-aligned."""
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return [
        "  "
        + "  ".join(
            c.rjust(w) if i in numbers else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in cells
    ]


def _count_rows(now: dict[Key, int], before: dict[Key, int] | None, key_width: int) -> list[list[Any]]:
    """One row per key (today, the baseline, the change), then the totals."""
    rows = []
    for key in sorted(set(now) | set(before or {})):
        previous = None if before is None else before.get(key, 0)
        rows.append(
            [*key, now.get(key, 0), "" if previous is None else previous, _change(now.get(key, 0), previous)]
        )
    total, total_before = sum(now.values()), None if before is None else sum(before.values())
    total_shown = "" if total_before is None else total_before
    rows.append(["total", *[""] * (key_width - 1), total, total_shown, _change(total, total_before)])
    return rows


def _edit_changes(preview: Preview) -> list[str]:
    if preview.last_preview is None:
        return []
    before = preview.last_preview.counts
    changes = [
        f"  {'/'.join(key)}: {before.due.get(key, 0)} -> {preview.counts.due.get(key, 0)}"
        for key in sorted(set(before.due) | set(preview.counts.due))
        if before.due.get(key, 0) != preview.counts.due.get(key, 0)
    ]
    changes += [
        f"  {'/'.join(key)} held out: {before.held_out.get(key, 0)} -> {preview.counts.held_out.get(key, 0)}"
        for key in sorted(set(before.held_out) | set(preview.counts.held_out))
        if before.held_out.get(key, 0) != preview.counts.held_out.get(key, 0)
    ]
    return [f"Changes since {preview.last_preview.label}:", *(changes or ["  none"]), ""]


def format_preview(preview: Preview) -> str:
    previous = preview.previous_day
    before_label = str(preview.as_of - timedelta(days=1))
    lines = [
        f"Preview for {preview.as_of}: nothing is sent and nothing is written to the ledger.",
        f"Compared with {previous.label}."
        if previous
        else f"No plan or saved preview for {before_label} to compare with.",
        *(
            [
                f"The ledger already holds {preview.already_planned} message(s) planned for {preview.as_of}: not due again."
            ]
            if preview.already_planned
            else []
        ),
        "",
        "Due, by sequence, step and channel:",
        *_table(
            ["sequence", "step", "channel", "due", before_label, "change"],
            _count_rows(preview.counts.due, previous.counts.due if previous else None, 3),
            numbers=range(3, 6),
        ),
        "",
        "Held out (holdout group: recorded, never sent):",
        *_table(
            ["sequence", "step", "held out", before_label, "change"],
            _count_rows(preview.counts.held_out, previous.counts.held_out if previous else None, 2),
            numbers=range(2, 5),
        ),
        "",
        "Eligible but not due today, by reason (message_exclusions):",
    ]
    if preview.exclusions:
        rows = [
            [sequence, code, n, preview.exclusion_examples[(sequence, code)]]
            for (sequence, code), n in sorted(preview.exclusions.items())
        ]
        lines += _table(["sequence", "reason", "count", "for example"], rows, numbers=range(2, 3))
    else:
        lines.append("  none")
    lines.append("")
    lines += _edit_changes(preview)
    if preview.rejected:
        lines.append(f"Rows the planner would reject: {len(preview.rejected)}")
        lines += [f"  {mask_pii(problem)}" for problem in preview.rejected[:_SHOWN_REJECTIONS]]
        lines.append("")
    lines.append(f"Sample messages ({len(preview.samples)}), recipients masked:")
    for sample in preview.samples:
        zone, _ = resolve_zone(sample.time_zone)
        opens, closes = sample.send_after.astimezone(zone), sample.send_before.astimezone(zone)
        window = f"sends {opens:%Y-%m-%d} {opens:%H:%M}-{closes:%H:%M} {sample.time_zone}"
        head = f"--- {sample.sequence} / {sample.step} / {sample.channel} to {sample.recipient} ({window})"
        if sample.channel == "sms":
            lines += [head, f"[{sample.segments} segment(s), {len(sample.body)} characters]", sample.body, ""]
        else:
            lines += [head, f"Subject: {sample.subject}", "", sample.body, ""]
    return "\n".join(lines)
