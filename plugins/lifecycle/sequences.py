"""The drip sequences as marketers define them in dbt, checked against the message templates.

Definitions live in ``config.meta.sequence`` of each segment model's YAML under
``dbt_project/models/segments/`` (dbt validates delays, goals and the rest when it builds). This
module reads what Python needs from them (each step's channel and template) and renders every
template a step can send against a sample context with strict variables, so an unknown template, a
missing variable, an email without its unsubscribe footer or an SMS without its opt-out hint stops
the daily plan and the preview before anything is planned, naming the file, the sequence, the step
and the fix.

The sample context is the planner's contract with the segment models: the fields of
``personalization_json`` per sequence (``PERSONALIZATION_FIELDS``), plus the common ones, plus any
further field a definition lists under ``personalization`` (so a marketer can add one without
touching Python; it gets a generic sample value).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import escape

from lifecycle.dispatch.dispatcher import channel_context
from lifecycle.settings import Brand
from lifecycle.sms_rules import num_segments
from lifecycle.templating import TemplateProblem, TemplateRenderer

log = logging.getLogger(__name__)

SEGMENTS_DIR = Path("models") / "segments"
# A step's channel as defined -> the template kinds it may send (sms_or_email resolves per contact).
STEP_CHANNELS = {"email": ("email",), "sms": ("sms",), "sms_or_email": ("sms", "email")}
SMS_OPT_OUT_HINT = "Reply STOP to opt out"
SAMPLE_UNSUBSCRIBE_URL = "https://hooks.example/unsubscribe?m=sample&s=signature"


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Field:
    """A personalization field: a sample value for the template check, and whether it may be null.

    The sample's type is the field's type: a row whose value has another type is rejected, because
    the templates format numbers and dates with macros that assume them."""

    sample: Any
    nullable: bool = False

    def type_problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit this field, or None."""
        if value is None:
            return None if self.nullable else "is null"
        if isinstance(self.sample, bool):
            return None if isinstance(value, bool) else f"is {value!r}, not true or false"
        if isinstance(self.sample, int | float):
            fits = isinstance(value, int | float) and not isinstance(value, bool)
            return None if fits else f"is {value!r}, not a number"
        if not isinstance(value, str):
            return f"is {value!r}, not a text"
        if _ISO_DATE.match(self.sample) and not _ISO_DATE.match(value):
            return f"is {value!r}, not an ISO date (YYYY-MM-DD)"
        return None


# Fields every row's personalization_json carries. A null first_name is greeted as FIRST_NAME_FALLBACK.
COMMON_PERSONALIZATION = {
    "first_name": Field("Alexandra", nullable=True),
    "company_name": Field("Acme Analytics"),
}
FIRST_NAME_FALLBACK = "there"
# Per sequence (the interface with the segment models; a value is null only where marked nullable).
PERSONALIZATION_FIELDS: dict[str, dict[str, Field]] = {
    "welcome": {
        "plan_name": Field("Free trial (Team features)"),
        "is_trial": Field(True),
        "trial_ends_on": Field("2026-12-04", nullable=True),
    },
    "cross_sell": {
        "recommended_addon_id": Field("automation_addon"),
        "recommended_addon_name": Field("Workflow Automation"),
        "addon_monthly_price": Field(39.0),
        "need_signal": Field("used automation 34 times in the last 28 days", nullable=True),
    },
    "annual_upsell": {
        "plan_name": Field("Team (monthly)"),
        "monthly_price": Field(99.0),
        "annual_price": Field(990.0),
        "annual_savings": Field(198.0),
        "milestone": Field("seat_quota_80pct"),
        "milestone_text": Field("your team is using 17 of 20 seats"),
    },
    "renewal_reminder": {
        "plan_name": Field("Team (annual)"),
        "billing_period": Field("annual"),
        "renewal_date": Field("2026-12-20"),
        "renewal_amount": Field(990.0),
        "days_until_renewal": Field(30),
    },
}
# Entry reasons are clauses the messages build on ("Since your team ..."), as the segment models write them.
SAMPLE_ENTRY_REASONS = {
    "welcome": "Since your team started a free trial on 2026-11-20",
    "cross_sell": "Since your team used automation 34 times in the last 28 days",
    "annual_upsell": "Since your team is using 17 of 20 seats",
    "renewal_reminder": "Since your Team (annual) subscription renews on 2026-12-20",
}


def fields_of(sequence: str) -> dict[str, Field]:
    return {**COMMON_PERSONALIZATION, **PERSONALIZATION_FIELDS.get(sequence, {})}


def personalization_problems(sequence: str, personalization: dict[str, Any]) -> list[str]:
    """What is wrong with a row's personalization for the sequence's templates (empty: nothing)."""
    fields = fields_of(sequence)
    missing = [name for name in fields if name not in personalization]
    problems = [f"lacks {', '.join(missing)} (the {sequence} templates need them)"] if missing else []
    for name, spec in fields.items():
        problem = spec.type_problem(personalization[name]) if name in personalization else None
        if problem:
            problems.append(f"field {name} {problem}")
    return problems


def template_context(
    sequence: str, step: str, entry_reason: str, personalization: dict[str, Any]
) -> dict[str, Any]:
    """The variables a planned message's templates see (before the dispatcher adds brand fields)."""
    context = {**personalization, "entry_reason": entry_reason, "sequence": sequence, "step": step}
    context["first_name"] = context.get("first_name") or FIRST_NAME_FALLBACK
    return context


# ------------------------------------------------------------------------------------------------
# Definitions
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    channel: str  # as defined: email, sms or sms_or_email
    template: str


@dataclass(frozen=True)
class Sequence:
    name: str
    model: str
    path: Path
    steps: tuple[Step, ...]
    personalization: tuple[str, ...] = ()  # the segment columns the definition says templates use


class SequenceProblems(Exception):
    """Definitions or templates that cannot work; every problem names its file, step and fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"{len(problems)} problem(s) in the sequence definitions or templates:\n"
            + "\n".join(f"- {p}" for p in problems)
        )
        self.problems = problems


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _sequence_meta(model: dict[str, Any]) -> Any:
    config_meta = (model.get("config") or {}).get("meta") or {}
    return config_meta.get("sequence", (model.get("meta") or {}).get("sequence"))


def _parse_sequence(path: Path, model: dict[str, Any], meta: Any, problems: list[str]) -> Sequence | None:
    where = f"{_display(path)}: model {model.get('name')}"
    if not isinstance(meta, dict):
        problems.append(
            f"{where}: config.meta.sequence is not a mapping. Fix: write name, steps and the other keys under `sequence:` (docs/sequences.md)"
        )
        return None
    name = meta.get("name")
    if not name:
        problems.append(f"{where}: config.meta.sequence has no name. Fix: add `name: <sequence>`")
        return None
    raw_steps = meta.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(f"{where}, sequence {name}: no steps. Fix: add a list under `steps:`")
        return None
    steps = []
    for position, raw in enumerate(raw_steps, start=1):
        step_name = raw.get("name") if isinstance(raw, dict) else None
        if not step_name:
            problems.append(f"{where}, sequence {name}, step #{position}: no name. Fix: add `name: <step>`")
            continue
        channel = raw.get("channel")
        if channel not in STEP_CHANNELS:
            problems.append(
                f"{where}, sequence {name}, step {step_name}: channel {channel!r} is unknown. "
                f"Fix: use one of {', '.join(STEP_CHANNELS)}"
            )
            continue
        steps.append(Step(step_name, channel, raw.get("template") or f"{name}_{step_name}"))
    personalization = meta.get("personalization") or []
    if not isinstance(personalization, list):
        problems.append(f"{where}, sequence {name}: personalization is not a list. Fix: list the field names")
        return None
    return Sequence(name, model["name"], path, tuple(steps), tuple(str(f) for f in personalization))


def load_sequences(dbt_project_dir: Path) -> list[Sequence]:
    """Every sequence defined beside a segment model; raises SequenceProblems for a malformed one."""
    folder = dbt_project_dir / SEGMENTS_DIR
    problems: list[str] = []
    sequences: list[Sequence] = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            problems.append(
                f"{_display(path)}: not valid YAML ({exc}). Fix: correct the indentation or quoting"
            )
            continue
        for model in document.get("models") or []:
            meta = _sequence_meta(model)
            if meta is not None:
                sequence = _parse_sequence(path, model, meta, problems)
                if sequence is not None:
                    sequences.append(sequence)
    seen: dict[str, Sequence] = {}
    for sequence in sequences:
        if sequence.name in seen:
            problems.append(
                f"{_display(sequence.path)}: sequence {sequence.name} is also defined by model "
                f"{seen[sequence.name].model}. Fix: give each sequence one segment model"
            )
        seen[sequence.name] = sequence
    if not sequences and not problems:
        problems.append(
            f"{_display(folder)}: no segment model defines a sequence (config.meta.sequence). "
            "Fix: define one beside each segment model"
        )
    if problems:
        raise SequenceProblems(problems)
    return sequences


# ------------------------------------------------------------------------------------------------
# Templates against the definitions
# ------------------------------------------------------------------------------------------------


def sample_context(
    sequence: str, step: str, *, nulls: bool = False, extra_fields: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A context with every field the contract promises (and ``extra_fields``, with a generic value);
    ``nulls``: nullable fields null and booleans flipped, so both branches of conditions render."""
    personalization: dict[str, Any] = {name: f"sample {name}" for name in extra_fields}
    for name, spec in fields_of(sequence).items():
        value = spec.sample
        if nulls:
            value = None if spec.nullable else (not value if isinstance(value, bool) else value)
        personalization[name] = value
    reason = SAMPLE_ENTRY_REASONS.get(sequence, f"Since your team qualifies for {sequence}")
    return template_context(sequence, step, reason, personalization)


@dataclass(frozen=True)
class StepTemplate:
    """One template a step can send: the step, the resolved channel and the template name."""

    sequence: Sequence
    step: Step
    channel: str  # email or sms

    @property
    def where(self) -> str:
        return f"{_display(self.sequence.path)}: sequence {self.sequence.name}, step {self.step.name} ({self.channel})"


def step_templates(sequences: list[Sequence]) -> list[StepTemplate]:
    return [
        StepTemplate(sequence, step, channel)
        for sequence in sequences
        for step in sequence.steps
        for channel in STEP_CHANNELS[step.channel]
    ]


def _explain(item: StepTemplate, exc: TemplateProblem, templates_dir: Path) -> str:
    cause = exc.__cause__
    name, _, line = exc.template.partition(":")
    template_file = _display(templates_dir / name) + (f":{line}" if line else "")
    if isinstance(cause, jinja2.TemplateNotFound):
        kind = "email" if item.channel == "email" else "sms"
        expected = (
            f"{kind}/{item.step.template}/subject.txt.j2, body.html.j2 and body.txt.j2"
            if kind == "email"
            else f"sms/{item.step.template}.txt.j2"
        )
        return (
            f"{item.where}: template {template_file} does not exist. Fix: create {expected} under "
            f"{_display(templates_dir)}, or set the step's `template:` to an existing one"
        )
    if isinstance(cause, jinja2.UndefinedError):
        known = ", ".join(sorted({*fields_of(item.sequence.name), *item.sequence.personalization}))
        return (
            f"{item.where}: template {template_file}: {exc.problem}. Fix: use only the {item.sequence.name} "
            f"fields ({known}, entry_reason, sequence, step and the brand fields), or add the field as a column "
            f"of the segment model {item.sequence.model} and to the `personalization:` list of its sequence"
        )
    return f"{item.where}: template {template_file}: {exc.problem}. Fix: {exc.fix}"


def _render(item: StepTemplate, renderer: TemplateRenderer, brand: Brand, nulls: bool) -> list[str]:
    """The rendered parts of one step's template for a sample context."""
    context = sample_context(
        item.sequence.name, item.step.name, nulls=nulls, extra_fields=item.sequence.personalization
    )
    context = channel_context(context, brand, item.channel, SAMPLE_UNSUBSCRIBE_URL)
    if item.channel == "sms":
        return [renderer.render_sms(item.step.template, context)]
    email = renderer.render_email(item.step.template, context)
    return [email.subject, email.html, email.text]


def _content_problems(item: StepTemplate, parts: list[str], brand: Brand, nulls: bool) -> list[str]:
    problems = []
    if any("None" in part for part in parts):
        nullable = [n for n, f in fields_of(item.sequence.name).items() if f.nullable and n != "first_name"]
        problems.append(
            f"{item.where}: template {item.step.template} shows 'None' when "
            f"{', '.join(nullable) or 'a field'} is null. Fix: wrap the field in {{% if <field> %}}"
            if nulls
            else f"{item.where}: template {item.step.template} shows 'None'. Fix: remove the literal None"
        )
    if item.channel == "email":
        _, html, text = parts
        footers = (
            (
                "HTML",
                html,
                escape(SAMPLE_UNSUBSCRIBE_URL),
                escape(brand.postal_address),
                "extend email/_layout.html.j2",
            ),
            ("text", text, SAMPLE_UNSUBSCRIBE_URL, brand.postal_address, 'include "email/_footer.txt.j2"'),
        )
        for label, body, link, address, footer in footers:
            if link not in body or address not in body:
                problems.append(
                    f"{item.where}: the {label} body of {item.step.template} lacks the unsubscribe link or the "
                    f"postal address. Fix: {footer}"
                )
    elif not parts[0].rstrip(" .").endswith(SMS_OPT_OUT_HINT):
        problems.append(
            f"{item.where}: sms/{item.step.template}.txt.j2 does not end with the opt-out hint. "
            f"Fix: end it with '{SMS_OPT_OUT_HINT}.'"
        )
    return problems


def check_templates(sequences: list[Sequence], templates_dir: Path, brand: Brand) -> list[str]:
    """Problems with the templates the steps send (empty: all good). Multi-segment SMS are logged."""
    renderer = TemplateRenderer(templates_dir)
    problems: list[str] = []
    for item in step_templates(sequences):
        for nulls in (False, True):
            try:
                parts = _render(item, renderer, brand, nulls)
            except TemplateProblem as exc:
                problems.append(_explain(item, exc, templates_dir))
                break
            found = _content_problems(item, parts, brand, nulls)
            if found:
                problems += found
                break
        else:
            if item.channel == "sms" and (segments := num_segments(parts[0])) > 1:
                log.warning("%s: the sample SMS takes %d segments; shorten it to 1", item.where, segments)
    return problems


def validate(dbt_project_dir: Path, templates_dir: Path, brand: Brand) -> list[Sequence]:
    """The sequences, once their definitions and templates are known to work; else SequenceProblems."""
    sequences = load_sequences(dbt_project_dir)
    problems = check_templates(sequences, templates_dir, brand)
    if problems:
        raise SequenceProblems(problems)
    return sequences
