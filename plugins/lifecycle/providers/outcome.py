"""What a provider call means for the ledger, independent of which provider answered."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    ACCEPTED = "accepted"  # the provider took it: the message is sent
    REJECTED = "rejected"  # a permanent refusal (bad address, opted out): the message failed
    NOT_SENT = "not_sent"  # certainly never reached the provider (connection refused): safe to retry
    RETRYABLE = "retryable"  # the provider refused for now (429, 5xx): nothing was queued, retry later
    AMBIGUOUS = "ambiguous"  # the request may have been accepted (timeout, reset): never resend blindly
    # the provider refused our credentials or account (401/403): nothing was queued, and nothing will
    # be until someone fixes the connection, so the message waits and the run fails loudly
    UNAUTHORIZED = "unauthorized"


@dataclass(frozen=True)
class ProviderOutcome:
    kind: OutcomeKind
    provider: str
    provider_message_id: str | None = None
    error_code: str | None = None
    reason: str | None = None
    opt_out: bool = False  # the refusal means the recipient opted out (e.g. Twilio 21610): suppress
    retry_after_s: float | None = None
