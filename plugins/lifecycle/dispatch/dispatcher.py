"""The send loop. Messages are claimed in the ledger before any provider call, and the thread that
made a request records its outcome as soon as it returns, before it takes more work, so a crash at
any point loses nothing and repeats nothing (a claim whose worker died becomes ``unknown`` if its
request had started, ``planned`` again if it had not).

The loop is a pipeline, so the provider never waits on the ledger or on rendering: each request is
submitted as soon as it is ready (a full email batch, one SMS), and the next claim is taken and
prepared while earlier requests run, until every sending thread has a request and a claim batch
waits behind them (bounded, so memory does not grow with the backlog).

A message is only claimed inside its recipient's window (``send_after`` to ``send_before``); one whose
window closed before it went out moves to the same local window on the next day, never out at night.

Email goes out in SendGrid batches of identical content, SMS one message per request; requests run
concurrently under a per-provider token bucket, and only answers that prove nothing was queued (429,
5xx, connection refused) are retried, with backoff that honours the provider's reset time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlencode

import phonenumbers
import sqlalchemy as sa
from email_validator import EmailNotValidError
from tenacity import Retrying, retry_if_result, stop_after_attempt

from lifecycle.dispatch.addresses import normalized_email
from lifecycle.dispatch.email_batches import (
    BatchRenderer,
    EmailBatch,
    Recipient,
    group_into_batches,
    recipient_content_hash,
    substitutions_for,
    within_substitution_limit,
)
from lifecycle.dispatch.rate_limit import TokenBucket
from lifecycle.dispatch.send_mode import SendMode
from lifecycle.masking import mask_pii
from lifecycle.ops_store import ledger
from lifecycle.ops_store.ledger import ClaimedMessage, Outcome
from lifecycle.ops_store.schema import FAILED, SENT, SKIPPED, UNKNOWN
from lifecycle.ops_store.suppressions import suppress, suppressed_addresses
from lifecycle.planning.send_window import local_day, next_window
from lifecycle.providers.outcome import OutcomeKind, ProviderOutcome
from lifecycle.providers.sendgrid_email import MailRequest, Personalization
from lifecycle.providers.twilio_sms import OutgoingSms
from lifecycle.settings import Brand, Settings
from lifecycle.sms_rules import num_segments
from lifecycle.templating import TemplateProblem, TemplateRenderer
from lifecycle.unsubscribe import unsubscribe_url

log = logging.getLogger(__name__)

_RETRY_KINDS = (OutcomeKind.RETRYABLE, OutcomeKind.NOT_SENT)
_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
MAX_SMS_CHARS = 1600


class EmailSender(Protocol):
    def send(self, request: MailRequest) -> ProviderOutcome: ...


class SmsSender(Protocol):
    def send(self, sms: OutgoingSms) -> ProviderOutcome: ...


@dataclass(frozen=True)
class Senders:
    """Factories, not clients: each sending thread builds its own client."""

    email: Callable[[], EmailSender] | None = None
    sms: Callable[[], SmsSender] | None = None


@dataclass(frozen=True)
class DispatchConfig:
    claim_batch: int = 2000
    concurrency: int = 8
    max_attempts: int = 5
    max_backoff_s: float = 30.0
    claim_lease: timedelta = timedelta(minutes=15)
    sms_max_segments: int = 4
    email_requests_per_s: float = 50.0  # each request carries up to 1,000 recipients
    sms_requests_per_s: float = 50.0
    # A planned message whose window keeps closing unsent (dispatch down, provider refusing) is skipped
    # once its next window would open more than this many days after the day it was planned for: a
    # "renews tomorrow" reminder or a day-0 welcome a week late does more harm than none.
    max_days_late: int = 2

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> DispatchConfig:
        """Overrides from ``LIFECYCLE_DISPATCH_<FIELD>`` variables (e.g. ``..._CONCURRENCY=16``)."""
        environ = dict(os.environ if environ is None else environ)
        overrides: dict[str, object] = {}
        for name, default in vars(cls()).items():
            raw = environ.get(f"LIFECYCLE_DISPATCH_{name.upper()}")
            if raw is None:
                continue
            try:
                if isinstance(default, timedelta):
                    overrides[name] = timedelta(seconds=float(raw))
                else:
                    overrides[name] = type(default)(raw)
            except ValueError:
                raise ValueError(
                    f"LIFECYCLE_DISPATCH_{name.upper()}={raw!r} is not a valid {type(default).__name__}"
                ) from None
        return cls(**overrides)


@dataclass
class DispatchReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    refused_credentials: dict[str, str] = field(default_factory=dict)  # provider -> its answer
    # The sending threads record their own outcomes, so counting needs a lock.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, what: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self.outcomes[what] += n

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.outcomes.items()))

    def refuse_credentials(self, answers: dict[str, str]) -> None:
        with self._lock:
            self.refused_credentials.update(answers)


class CredentialsRefused(RuntimeError):
    """A provider refused the connection's credentials: nothing was sent, the messages wait."""

    def __init__(self, report: DispatchReport) -> None:
        providers = ", ".join(
            f"{provider} ({answer})" for provider, answer in sorted(report.refused_credentials.items())
        )
        super().__init__(
            f"refused credentials: {providers}. The claimed messages are planned again and nothing was "
            "sent. Fix the Airflow connection (sendgrid_default: password = API key; twilio_default: "
            f"login = Account SID, password = auth token) and re-run. Outcomes: {report.as_dict()}"
        )
        self.report = report


@dataclass
class SendResult:
    """What one provider request settled, handed back to the recording thread."""

    outcomes: list[Outcome] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    opt_outs: list[tuple[str, str, str]] = field(default_factory=list)  # channel, address, provider
    refused_credentials: dict[str, str] = field(default_factory=dict)  # provider -> its answer

    def merge(self, other: SendResult) -> None:
        self.outcomes += other.outcomes
        self.deferred += other.deferred
        self.opt_outs += other.opt_outs
        self.refused_credentials.update(other.refused_credentials)


# what channel_context adds that is the same for every recipient
BRAND_FIELDS = frozenset({"sender_name", "postal_address", "app_url", "why_you_get_this"})


def channel_context(
    context: dict[str, Any], brand: Brand, channel: str, unsubscribe_link: str | None = None
) -> dict[str, Any]:
    """What a template sees when it is sent: the planned message's context plus the brand fields
    (and, for email, the footer's reason, postal address and unsubscribe link). Shared with the
    sequence check and the preview, so they render exactly what would be sent."""
    if channel == "sms":
        return {**context, "sender_name": brand.sender_name, "app_url": brand.app_url}
    return {
        **context,
        **reason_phrases(context.get("entry_reason")),
        "sender_name": brand.sender_name,
        "postal_address": brand.postal_address,
        "app_url": brand.app_url,
        "why_you_get_this": f"you have a {brand.sender_name} account",
        "unsubscribe_url": unsubscribe_link,
    }


def reason_phrases(entry_reason: object) -> dict[str, str]:
    """The segment's reason ("Since your team ... days.") as templates print it: ``reason_clause`` opens
    a sentence ("Since your team ... days"), ``reason_why`` continues one ("since your team ... days").
    Ready-made, so a template prints them bare and they can travel as substitutions (email_batches)."""
    if not isinstance(entry_reason, str):
        return {}
    clause = entry_reason.rstrip(". ")
    return {"reason_clause": clause, "reason_why": entry_reason[:1].lower() + clause[1:]}


def _state_for(kind: OutcomeKind) -> str:
    return {OutcomeKind.ACCEPTED: SENT, OutcomeKind.REJECTED: FAILED, OutcomeKind.AMBIGUOUS: UNKNOWN}[kind]


class Dispatcher:
    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        senders: Senders,
        worker_id: str,
        mode: SendMode,
        config: DispatchConfig | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.senders = senders
        self.worker_id = worker_id
        self.mode = mode
        self.config = config or DispatchConfig()
        self.renderer = TemplateRenderer(settings.templates_dir)
        self.batch_renderer = BatchRenderer(self.renderer)
        self._email_bucket = TokenBucket(self.config.email_requests_per_s)
        self._sms_bucket = TokenBucket(self.config.sms_requests_per_s)
        self._clients = threading.local()

    # -- the loop -------------------------------------------------------------------------------

    def run(self, as_of: date, now: datetime | None = None) -> DispatchReport:
        """Send what is due at ``now``: live, everything planned up to ``as_of`` (a late window
        included); simulated, only what was planned for ``as_of`` itself, so a backfill never touches
        live work. Stops early when a provider keeps refusing; the next run resumes.
        """
        report = DispatchReport()
        replanned, unknown = ledger.expire_stale_claims(self.engine, self.config.claim_lease, now)
        if replanned or unknown:
            log.warning(
                "claims of a stopped worker: %d never reached the provider (planned again), %d unknown",
                replanned,
                unknown,
            )
            report.add("unknown", unknown)
        live = self.mode is SendMode.LIVE
        if live:
            self._settle_missed_windows(now, report)
        first_day = date.min if live else as_of
        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="dispatch") as pool:
            self._pipeline(
                lambda: ledger.claim_due(
                    self.engine,
                    self.worker_id,
                    self.config.claim_batch,
                    now=now,
                    as_of_dates=(first_day, as_of),
                    within_window=live,
                ),
                pool,
                report,
            )
        log.info("dispatch (%s) for %s: %s", self.mode.value, as_of, report.as_dict())
        if report.refused_credentials:
            raise CredentialsRefused(report)
        return report

    def _pipeline(
        self, claim: Callable[[], list[ClaimedMessage]], pool: ThreadPoolExecutor, report: DispatchReport
    ) -> None:
        """Claim ahead while fewer than ``concurrency`` requests or ``claim_batch`` messages are in
        flight; otherwise wait for a request to finish (its thread has recorded its outcome)."""
        in_flight: dict[Future[None], int] = {}  # request -> messages it carries
        # Finished requests arrive here: waiting on one queue costs the same however many SMS are in
        # flight, where concurrent.futures.wait() would visit every pending future each time.
        finished: queue.SimpleQueue[Future[None]] = queue.SimpleQueue()
        messages_in_flight = 0
        more = True
        while more or in_flight:
            if more and (
                messages_in_flight < self.config.claim_batch or len(in_flight) < self.config.concurrency
            ):
                claimed = claim()
                more = bool(claimed)
                if more:
                    for future, size in self._dispatch(claimed, pool, report).items():
                        in_flight[future] = size
                        messages_in_flight += size
                        future.add_done_callback(finished.put)
                continue
            future = finished.get()
            messages_in_flight -= in_flight.pop(future)
            if future.exception():
                # Requests not started yet are dropped: their keys stay claimed with no request
                # started, so they are planned again when the claim's lease expires.
                pool.shutdown(cancel_futures=True)
                future.result()
            if report.outcomes["deferred"]:
                more = False  # a provider keeps refusing: finish what is in flight, claim no more

    def _settle_missed_windows(self, now: datetime | None, report: DispatchReport) -> None:
        """Messages whose window closed unsent wait for the same local window on the next day, unless
        that day is more than ``max_days_late`` days after the day they were planned for: then they
        are skipped (``window_expired``)."""
        now = now or ledger.utcnow()
        days_late = self.config.max_days_late
        moves: list[tuple[ledger.MissedWindow, datetime, datetime]] = []
        expired: list[tuple[ledger.MissedWindow, str]] = []
        for missed in ledger.missed_windows(self.engine, now):
            opens, closes = next_window(missed.send_after, missed.send_before, missed.time_zone, now)
            last_day = missed.as_of_date + timedelta(days=days_late)
            if local_day(opens, missed.time_zone) <= last_day:
                moves.append((missed, opens, closes))
                continue
            reason = (
                f"its send window closed unsent on every day from {missed.as_of_date} to {last_day}; "
                f"not sent more than {days_late} day(s) late (LIFECYCLE_DISPATCH_MAX_DAYS_LATE)"
            )
            expired.append((missed, reason))
        moved = ledger.move_windows(self.engine, moves)
        skipped = ledger.expire_windows(self.engine, expired)
        if moved:
            log.info("%d planned message(s) missed their send window: moved to the next day's window", moved)
        if skipped:
            log.warning(
                "%d planned message(s) missed their window too many days: skipped (window_expired)", skipped
            )
        report.add("rescheduled", moved)
        report.add("expired", skipped)

    def _dispatch(
        self, claimed: list[ClaimedMessage], pool: ThreadPoolExecutor, report: DispatchReport
    ) -> dict[Future[None], int]:
        """Settle what needs no request; submit each request as soon as it is ready (a full email
        batch, one SMS), each recording its own outcome. Returns the requests and their sizes."""
        if self.mode is SendMode.SIMULATE:
            reason = "run for a past date: simulated, not sent (trigger with send_mode=live to send)"
            self._record(
                SendResult([Outcome(m.message_key, SKIPPED, "simulated", reason) for m in claimed]), report
            )
            return {}
        settled = SendResult()
        submitted: dict[Future[None], int] = {}

        def submit(send: Callable[[], SendResult], size: int) -> None:
            submitted[pool.submit(self._send_and_record, send, report)] = size

        def prepared_emails() -> Iterator[tuple]:
            """Checks and renders the claim in order: SMS go out from here, emails go on to batching."""
            suppressed = suppressed_addresses(self.engine, [(m.channel, m.recipient) for m in claimed])
            for message in claimed:
                reason = suppressed.get((message.channel, message.recipient))
                if reason:
                    settled.outcomes.append(
                        Outcome(
                            message.message_key,
                            SKIPPED,
                            "suppressed",
                            f"{message.channel} suppressed: {reason}",
                        )
                    )
                elif message.channel == "email" and self.senders.email:
                    prepared = self._prepare_email(message)
                    if isinstance(prepared, Outcome):
                        settled.outcomes.append(prepared)
                    else:
                        yield prepared
                elif message.channel == "sms" and self.senders.sms:
                    prepared_sms = self._prepare_sms(message)
                    if isinstance(prepared_sms, Outcome):
                        settled.outcomes.append(prepared_sms)
                    else:
                        submit(partial(self._send_sms, *prepared_sms), 1)
                else:
                    settled.outcomes.append(
                        Outcome(
                            message.message_key,
                            FAILED,
                            "channel_unavailable",
                            f"no sender configured for {message.channel!r}",
                        )
                    )

        for batch in group_into_batches(prepared_emails()):
            submit(partial(self._send_email_batch, batch), len(batch.recipients))
        self._record(settled, report)
        return submitted

    def _send_and_record(self, send: Callable[[], SendResult], report: DispatchReport) -> None:
        self._record(send(), report)

    def _record(self, result: SendResult, report: DispatchReport) -> None:
        """Durable before anything else happens: outcomes, then opt-outs, then released keys."""
        ledger.record_outcomes(self.engine, result.outcomes)
        for channel, address, provider in result.opt_outs:
            suppress(self.engine, channel, address, "provider_opt_out", provider)
        if result.deferred:
            ledger.release(self.engine, result.deferred, "provider kept refusing; retried on the next run")
        for outcome in result.outcomes:
            report.add(outcome.error_code if outcome.state == SKIPPED else outcome.state)
            if outcome.state in (FAILED, UNKNOWN):
                log.warning(
                    "%s %s: %s %s",
                    outcome.message_key,
                    outcome.state,
                    outcome.error_code,
                    mask_pii(outcome.error_reason or ""),
                )
        report.add("deferred", len(result.deferred))
        report.refuse_credentials(result.refused_credentials)

    # -- email ----------------------------------------------------------------------------------

    def _prepare_email(self, message: ClaimedMessage) -> Outcome | tuple:
        key = message.message_key
        try:
            to_email = normalized_email(message.recipient)
        except EmailNotValidError as exc:
            return Outcome(key, FAILED, "invalid_address", f"email address rejected: {exc}")
        if not self.settings.unsubscribe_secret:
            return Outcome(
                key,
                FAILED,
                "no_unsubscribe_secret",
                "LIFECYCLE_UNSUBSCRIBE_SECRET is not set, so no unsubscribe link can be signed; set it and re-plan",
            )
        link = unsubscribe_url(self.settings.public_base_url, self.settings.unsubscribe_secret, key)
        context = channel_context(message.context, self.settings.brand, "email", link)
        # the brand's fields are the same for everyone: as substitutions they would only grow each request
        personal = [name for name in context if name not in BRAND_FIELDS]
        substituted = self.batch_renderer.substituted(message.template, context, personal)
        substitutions = substitutions_for(context, substituted)
        if not within_substitution_limit(substitutions):
            # values too long for SendGrid's substitutions go into the content: a request of its own
            substituted, substitutions = (), {}
        try:
            rendered, digest = self.batch_renderer.render(message.template, context, substituted)
        except TemplateProblem as exc:
            return Outcome(key, FAILED, "template_error", str(exc))
        personalization = Personalization(
            message_key=key,
            to_email=to_email,
            to_name=message.context.get("first_name"),
            unsubscribe_url=context["unsubscribe_url"],
            substitutions=substitutions,
        )
        recipient = Recipient(message, personalization, recipient_content_hash(digest, substitutions))
        return (rendered, digest, message.sequence, recipient)

    def _send_email_batch(self, batch: EmailBatch) -> SendResult:
        brand = self.settings.brand
        ledger.mark_request_started(self.engine, [r.message.message_key for r in batch.recipients])
        outcome = self._call_with_retries(
            lambda: self._email_client().send(batch.request(brand.sender_email, brand.sender_name)),
            self._email_bucket,
        )
        if outcome.kind is OutcomeKind.REJECTED and outcome.error_code == "400" and len(batch.recipients) > 1:
            # A 400 queues nothing; resend one by one to fail only the recipient it was about.
            result = SendResult()
            for single in batch.split():
                result.merge(self._send_email_batch(single))
            return result
        result = SendResult()
        for recipient in batch.recipients:
            self._settle(result, recipient.message, outcome, recipient.content_hash)
        return result

    def _email_client(self) -> EmailSender:
        if not hasattr(self._clients, "email"):
            assert self.senders.email is not None
            self._clients.email = self.senders.email()
        return self._clients.email

    # -- sms ------------------------------------------------------------------------------------

    def _prepare_sms(self, message: ClaimedMessage) -> Outcome | tuple[ClaimedMessage, OutgoingSms, str]:
        key = message.message_key
        try:
            number = phonenumbers.parse(message.recipient, None)
        except phonenumbers.NumberParseException as exc:
            return Outcome(
                key, FAILED, "invalid_phone", f"not a phone number in E.164 form (+<country><number>): {exc}"
            )
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if not phonenumbers.is_valid_number(number) or e164 != message.recipient:
            return Outcome(
                key, FAILED, "invalid_phone", "not a valid number in E.164 form (+<country><number>)"
            )
        if phonenumbers.number_type(number) not in _MOBILE_TYPES:
            return Outcome(
                key, FAILED, "not_mobile", "the number is not a mobile number; SMS cannot reach it"
            )
        brand = self.settings.brand
        context = channel_context(message.context, brand, "sms")
        try:
            body = self.renderer.render_sms(message.template, context)
        except TemplateProblem as exc:
            return Outcome(key, FAILED, "template_error", str(exc))
        segments = num_segments(body)
        if len(body) > MAX_SMS_CHARS or segments > self.config.sms_max_segments:
            return Outcome(
                key,
                FAILED,
                "sms_too_long",
                f"{len(body)} characters in {segments} segments (limit {self.config.sms_max_segments}); shorten the template",
            )
        sms = OutgoingSms(
            message_key=key,
            to=e164,
            from_=brand.sms_from,
            body=body,
            # The key in the callback URL maps a status report to the ledger even when the send timed
            # out and no message sid was recorded.
            status_callback=f"{self.settings.public_base_url}/webhooks/twilio/status?{urlencode({'lc_message_key': key})}",
        )
        return message, sms, hashlib.sha256(body.encode()).hexdigest()

    def _send_sms(self, message: ClaimedMessage, sms: OutgoingSms, digest: str) -> SendResult:
        ledger.mark_request_started(self.engine, [message.message_key])
        outcome = self._call_with_retries(lambda: self._sms_client().send(sms), self._sms_bucket)
        result = SendResult()
        self._settle(result, message, outcome, digest)
        return result

    def _sms_client(self) -> SmsSender:
        if not hasattr(self._clients, "sms"):
            assert self.senders.sms is not None
            self._clients.sms = self.senders.sms()
        return self._clients.sms

    # -- shared ---------------------------------------------------------------------------------

    def _settle(
        self, result: SendResult, message: ClaimedMessage, outcome: ProviderOutcome, digest: str
    ) -> None:
        if outcome.kind in _RETRY_KINDS:
            result.deferred.append(message.message_key)
            return
        if outcome.kind is OutcomeKind.UNAUTHORIZED:
            result.deferred.append(message.message_key)
            result.refused_credentials[outcome.provider] = f"HTTP {outcome.error_code}: {outcome.reason}"
            return
        result.outcomes.append(
            Outcome(
                message.message_key,
                _state_for(outcome.kind),
                error_code=outcome.error_code,
                error_reason=outcome.reason,
                provider=outcome.provider,
                provider_message_id=outcome.provider_message_id,
                content_hash=digest,
            )
        )
        if outcome.opt_out:
            result.opt_outs.append((message.channel, message.recipient, outcome.provider))

    def _call_with_retries(self, call: Callable[[], ProviderOutcome], bucket: TokenBucket) -> ProviderOutcome:
        def attempt() -> ProviderOutcome:
            bucket.acquire()
            outcome = call()
            if outcome.retry_after_s:
                bucket.pause(outcome.retry_after_s)
            return outcome

        retrying = Retrying(
            retry=retry_if_result(lambda outcome: outcome.kind in _RETRY_KINDS),
            stop=stop_after_attempt(self.config.max_attempts),
            wait=self._backoff,
            retry_error_callback=lambda state: state.outcome.result(),
        )
        return retrying(attempt)

    def _backoff(self, state) -> float:  # type: ignore[no-untyped-def]
        """Exponential from 0.25 s, or the provider's own reset time when it gave one."""
        outcome: ProviderOutcome = state.outcome.result()
        if outcome.retry_after_s is not None:
            return min(self.config.max_backoff_s, outcome.retry_after_s)
        return min(self.config.max_backoff_s, 0.25 * 2 ** (state.attempt_number - 1))
