"""Email through the official ``sendgrid`` client, configured from the ``sendgrid_default`` connection.

The connection's password is the API key; its host, when set, points the client at another server
(the local SendGrid-contract server in tests and the demo); extra ``{"sandbox_mode": true}`` asks
SendGrid to validate without delivering; extra ``timeout_s`` bounds each request (the client has no
default timeout, and a hung request must become an ``unknown`` message, not a hung worker).
"""

from __future__ import annotations

import http.client
import time
import urllib.error
from dataclasses import dataclass
from typing import Any

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient

from lifecycle.providers.outcome import OutcomeKind, ProviderOutcome

PROVIDER = "sendgrid"
DEFAULT_HOST = "https://api.sendgrid.com"
# Our custom_args are namespaced: SendGrid echoes them as top-level event fields, where reserved names win.
MESSAGE_KEY_ARG = "lc_message_key"


@dataclass(frozen=True)
class SendGridSettings:
    api_key: str
    host: str = DEFAULT_HOST
    sandbox_mode: bool = False
    timeout_s: float = 15.0

    @classmethod
    def from_connection(cls, conn_id: str = "sendgrid_default") -> SendGridSettings:
        from airflow.sdk.bases.hook import BaseHook

        conn = BaseHook.get_connection(conn_id)
        if not conn.password:
            raise ValueError(
                f"Airflow connection {conn_id!r} has no password: set it to the SendGrid API key "
                f'(e.g. AIRFLOW_CONN_{conn_id.upper()}=\'{{"conn_type": "http", "password": "SG...."}}\')'
            )
        extra = conn.extra_dejson
        host = conn.host or DEFAULT_HOST
        if conn.port:
            host = f"{host}:{conn.port}"
        return cls(
            api_key=conn.password,
            host=host if "://" in host else f"https://{host}",
            sandbox_mode=bool(extra.get("sandbox_mode", False)),
            timeout_s=float(extra.get("timeout_s", 15.0)),
        )


@dataclass(frozen=True)
class Personalization:
    """One recipient of a mail/send request, with the values SendGrid substitutes for them."""

    message_key: str
    to_email: str
    to_name: str | None
    unsubscribe_url: str
    substitutions: dict[str, str]


@dataclass(frozen=True)
class MailRequest:
    """One mail/send request: content shared by up to 1,000 personalizations."""

    from_email: str
    from_name: str
    subject: str
    html: str
    text: str
    category: str
    personalizations: tuple[Personalization, ...]


def _personalization_body(p: Personalization) -> dict[str, Any]:
    to: dict[str, str] = {"email": p.to_email}
    if p.to_name:
        to["name"] = p.to_name
    body: dict[str, Any] = {
        "to": [to],
        "custom_args": {MESSAGE_KEY_ARG: p.message_key},
        # RFC 8058 one-click unsubscribe, per recipient (Gmail and Yahoo require it of bulk senders).
        "headers": {
            "List-Unsubscribe": f"<{p.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    if p.substitutions:
        body["substitutions"] = p.substitutions
    return body


def mail_send_body(request: MailRequest, sandbox_mode: bool) -> dict[str, Any]:
    """The v3 mail/send body: the message key in each personalization's custom_args, so every event
    SendGrid reports maps back to the ledger, and one category per sequence for SendGrid's stats."""
    return {
        "personalizations": [_personalization_body(p) for p in request.personalizations],
        "from": {"email": request.from_email, "name": request.from_name},
        "subject": request.subject,
        "content": [
            {"type": "text/plain", "value": request.text},
            {"type": "text/html", "value": request.html},
        ],
        "categories": [request.category],
        "mail_settings": {"sandbox_mode": {"enable": sandbox_mode}},
    }


def _error_summary(error: http_errors.HTTPError) -> str:
    body = error.body.decode(errors="replace") if isinstance(error.body, bytes) else str(error.body)
    return f"HTTP {error.status_code}: {body[:500]}"


class SendGridEmailSender:
    def __init__(self, settings: SendGridSettings) -> None:
        self.settings = settings
        self._client = SendGridAPIClient(settings.api_key, host=settings.host)
        self._client.client.timeout = settings.timeout_s

    def send(self, request: MailRequest) -> ProviderOutcome:
        try:
            response = self._client.client.mail.send.post(
                request_body=mail_send_body(request, self.settings.sandbox_mode)
            )
        except http_errors.TooManyRequestsError as exc:
            reset = (exc.headers or {}).get("X-RateLimit-Reset")
            return ProviderOutcome(
                OutcomeKind.RETRYABLE,
                PROVIDER,
                error_code="429",
                reason=_error_summary(exc),
                retry_after_s=_seconds_until(reset),
            )
        except (http_errors.InternalServerError, http_errors.ServiceUnavailableError) as exc:
            return ProviderOutcome(
                OutcomeKind.RETRYABLE, PROVIDER, error_code=str(exc.status_code), reason=_error_summary(exc)
            )
        except (http_errors.UnauthorizedError, http_errors.ForbiddenError) as exc:
            return ProviderOutcome(
                OutcomeKind.UNAUTHORIZED,
                PROVIDER,
                error_code=str(exc.status_code),
                reason=_error_summary(exc),
            )
        except http_errors.HTTPError as exc:
            return ProviderOutcome(
                OutcomeKind.REJECTED, PROVIDER, error_code=str(exc.status_code), reason=_error_summary(exc)
            )
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):
                return ProviderOutcome(
                    OutcomeKind.NOT_SENT, PROVIDER, error_code="connection_refused", reason=str(exc.reason)
                )
            return ProviderOutcome(
                OutcomeKind.AMBIGUOUS, PROVIDER, error_code="network_error", reason=str(exc.reason)
            )
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            return ProviderOutcome(
                OutcomeKind.AMBIGUOUS,
                PROVIDER,
                error_code="no_response",
                reason=f"{exc.__class__.__name__} after the request was sent: {exc}",
            )
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return ProviderOutcome(OutcomeKind.ACCEPTED, PROVIDER, provider_message_id=message_id)


def _seconds_until(reset_header: str | None) -> float | None:
    if not reset_header:
        return None
    try:
        return max(0.0, float(reset_header) - time.time())
    except ValueError:
        return None
