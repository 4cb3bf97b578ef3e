"""SMS through the official ``twilio`` client, configured from the ``twilio_default`` connection.

The connection's login is the Account SID and its password the auth token; its host, when set,
points the client at another server (the local Twilio-contract server in tests and the demo); extra
``timeout_s`` bounds each request and ``status_callback`` overrides where delivery reports go.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from lifecycle.providers.outcome import OutcomeKind, ProviderOutcome

PROVIDER = "twilio"
# Synchronous error codes that end a message for good; 21610 also means the recipient opted out.
PERMANENT_CODES = {21211, 21408, 21610, 21612, 21614, 21617}
OPT_OUT_CODES = {21610}
RETRYABLE_CODES = {20429}
AUTHENTICATION_CODES = {20003}  # "Authentication Error": wrong Account SID or auth token


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    base_url: str | None = None  # None: Twilio's own API
    timeout_s: float = 15.0

    @classmethod
    def from_connection(cls, conn_id: str = "twilio_default") -> TwilioSettings:
        from airflow.sdk.bases.hook import BaseHook

        conn = BaseHook.get_connection(conn_id)
        if not conn.login or not conn.password:
            raise ValueError(
                f"Airflow connection {conn_id!r} needs login (Account SID) and password (auth token)"
            )
        extra = conn.extra_dejson
        base_url = None
        if conn.host:
            base_url = conn.host if "://" in conn.host else f"https://{conn.host}"
            if conn.port:
                base_url = f"{base_url}:{conn.port}"
        return cls(conn.login, conn.password, base_url, float(extra.get("timeout_s", 15.0)))


@dataclass(frozen=True)
class OutgoingSms:
    message_key: str
    to: str
    from_: str
    body: str
    status_callback: str | None


def twilio_client_for(
    base_url: str | None, account_sid: str, auth_token: str, *, timeout: float | None = 15.0
) -> Client:
    """The official client, its API requests going to ``base_url`` (None: api.twilio.com).

    The client rewrites the host when an edge or region is set, which its constructor also reads from
    ``TWILIO_EDGE``/``TWILIO_REGION`` (``environment={}`` does not stop that: an empty mapping falls
    back to ``os.environ``), so both are cleared after construction. The HTTP client gets a timeout:
    its default is none, and a held request would hang the worker forever.
    """
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    client.edge = None
    client.region = None
    if base_url:
        client.api.base_url = base_url.rstrip("/")
    return client


class TwilioSmsSender:
    def __init__(self, settings: TwilioSettings) -> None:
        self.settings = settings
        self._client = twilio_client_for(
            settings.base_url, settings.account_sid, settings.auth_token, timeout=settings.timeout_s
        )

    def send(self, sms: OutgoingSms) -> ProviderOutcome:
        kwargs = {"to": sms.to, "from_": sms.from_, "body": sms.body}
        if sms.status_callback:
            kwargs["status_callback"] = sms.status_callback
        try:
            message = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            reason = f"HTTP {exc.status} code {exc.code}: {exc.msg}"
            if exc.status == 401 or exc.code in AUTHENTICATION_CODES:
                return ProviderOutcome(
                    OutcomeKind.UNAUTHORIZED, PROVIDER, error_code=str(exc.code or exc.status), reason=reason
                )
            if exc.code in RETRYABLE_CODES or exc.status == 429 or exc.status >= 500:
                return ProviderOutcome(
                    OutcomeKind.RETRYABLE, PROVIDER, error_code=str(exc.code or exc.status), reason=reason
                )
            return ProviderOutcome(
                OutcomeKind.REJECTED,
                PROVIDER,
                error_code=str(exc.code or exc.status),
                reason=reason,
                opt_out=exc.code in OPT_OUT_CODES,
            )
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError) as exc:
            if isinstance(exc, requests.exceptions.ConnectTimeout) or _refused(exc):
                return ProviderOutcome(
                    OutcomeKind.NOT_SENT, PROVIDER, error_code="connection_refused", reason=str(exc)
                )
            return ProviderOutcome(
                OutcomeKind.AMBIGUOUS, PROVIDER, error_code="connection_lost", reason=str(exc)
            )
        except (requests.exceptions.RequestException, TwilioException) as exc:
            return ProviderOutcome(
                OutcomeKind.AMBIGUOUS,
                PROVIDER,
                error_code="no_response",
                reason=f"{exc.__class__.__name__} after the request was sent: {exc}",
            )
        return ProviderOutcome(OutcomeKind.ACCEPTED, PROVIDER, provider_message_id=message.sid)


def _refused(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection was never established, so the request cannot have been accepted."""
    cause = exc.args[0] if exc.args else None
    text = repr(cause)
    return "NewConnectionError" in text or "Connection refused" in text
