"""The steps of the daily run, one function per DAG task, callable (and tested) without Airflow."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, date, datetime

from lifecycle.dispatch.dispatcher import DispatchConfig, Dispatcher, DispatchReport, Senders
from lifecycle.dispatch.send_mode import SendMode, resolve_send_mode
from lifecycle.export.ops_export import export_ops_store
from lifecycle.landing import check_landing, format_problems
from lifecycle.masking import install_pii_masking
from lifecycle.ops_store import connect, migrate
from lifecycle.planning.planner import PlanReport, plan_from_warehouse
from lifecycle.sequences import validate
from lifecycle.settings import Settings, load_settings

log = logging.getLogger(__name__)
# Every step of the run logs through this process: recipients are masked in all of it.
install_pii_masking()

# The instant the dispatcher takes for "now" (ISO 8601, UTC when no offset is given). Unset in
# production; simulations and tests set it to replay a day at a chosen hour.
CLOCK_ENV = "LIFECYCLE_NOW"


class LandingProblems(RuntimeError):
    pass


def check_landing_files(settings: Settings | None = None) -> int:
    """Fail before dbt runs when a landing file breaks the data contract; warnings are logged only."""
    settings = settings or load_settings()
    if settings.recent_test_days:
        log.info(
            "landing check: usage event rows of the last %d day(s) only (LIFECYCLE_DBT_RECENT_TEST_DAYS)",
            settings.recent_test_days,
        )
    problems = check_landing(settings.landing_dir, settings.recent_test_days)
    errors = [p for p in problems if p.severity == "error"]
    if problems:
        log.warning("landing check:\n%s", format_problems(problems))
    if errors:
        raise LandingProblems(
            f"{len(errors)} problem(s) in {settings.landing_dir} break the data contract "
            f"(docs/data-contract.md):\n{format_problems(errors)}"
        )
    return len(problems)


def export_ops(settings: Settings | None = None) -> dict[str, int]:
    settings = settings or load_settings()
    engine = connect(settings.ops_db_url)
    migrate(engine)
    return export_ops_store(engine, settings.ops_export_dir)


def plan(as_of: date, settings: Settings | None = None) -> PlanReport:
    """Plan dbt's due and held-out messages of the day, once the sequences' templates are known to
    render (a broken template stops the run here, not message by message at send time)."""
    settings = settings or load_settings()
    validate(settings.dbt_project_dir, settings.templates_dir, settings.brand)
    engine = connect(settings.ops_db_url)
    migrate(engine)
    report = plan_from_warehouse(engine, settings.warehouse_path, as_of)
    log.info("planned for %s: %s", as_of, report.as_dict())
    return report


def provider_senders() -> Senders:
    """Senders built from the Airflow connections; a connection that is not configured disables its
    channel (its messages fail with a clear reason) instead of failing the whole run."""
    from lifecycle.providers.sendgrid_email import SendGridEmailSender, SendGridSettings
    from lifecycle.providers.twilio_sms import TwilioSettings, TwilioSmsSender

    email_settings = sms_settings = None
    try:
        email_settings = SendGridSettings.from_connection()
    except Exception as exc:  # an absent connection raises Airflow's own not-found error
        log.warning("email disabled: connection sendgrid_default unusable (%s)", exc)
    try:
        sms_settings = TwilioSettings.from_connection()
    except Exception as exc:
        log.warning("SMS disabled: connection twilio_default unusable (%s)", exc)
    return Senders(
        email=(lambda: SendGridEmailSender(email_settings)) if email_settings else None,
        sms=(lambda: TwilioSmsSender(sms_settings)) if sms_settings else None,
    )


def clock(environ: dict[str, str] | None = None) -> datetime | None:
    """The simulated "now" from ``LIFECYCLE_NOW``, or None for the real clock."""
    raw = (os.environ if environ is None else environ).get(CLOCK_ENV)
    if not raw:
        return None
    try:
        now = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{CLOCK_ENV}={raw!r} is not an ISO 8601 instant such as 2026-11-20T16:00:00Z"
        ) from None
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def dispatch(as_of: date, send_mode: str = "auto", settings: Settings | None = None) -> DispatchReport:
    settings = settings or load_settings()
    now = clock()
    mode = resolve_send_mode(send_mode, as_of, today=now.date() if now else None)
    engine = connect(settings.ops_db_url)
    migrate(engine)
    senders = provider_senders() if mode is SendMode.LIVE else Senders()
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{as_of.isoformat()}"
    log.info("dispatching messages due for %s in %s mode", as_of, mode.value)
    return Dispatcher(engine, settings, senders, worker_id, mode, DispatchConfig.from_env()).run(as_of, now)
