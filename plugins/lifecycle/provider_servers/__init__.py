"""Local servers that honour the SendGrid and Twilio contracts, for tests and the offline demo.

The project's only fakes, and only at the network edge: the official ``sendgrid`` and ``twilio``
clients talk to these servers over real HTTP, every request is validated against the vendor's own
OpenAPI document (``shared/vendor-specs``), and the rules those documents leave out are enforced as
the vendors do. Faults (latency, 429, 500/503, timeouts before or after acceptance, connection
resets, a capacity limit) and signed webhooks (SendGrid Event Webhook, Twilio status callbacks and
inbound replies) make the edge cases testable.

Pointing the official clients at a server::

    with SendGridServer() as sg_server, TwilioServer() as tw_server:
        sg = SendGridAPIClient(DEFAULT_API_KEY, host=sg_server.base_url)
        sg.client.timeout = 10                      # the client has no default timeout
        sg.client.mail.send.post(request_body=mail)  # -> 202, headers["X-Message-Id"]

        tw = twilio_client_for(tw_server.base_url, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, timeout=10)
        tw.messages.create(to="+15551234567", from_="+15005550006", body="hi")  # -> SM... sid

``twilio_client_for`` (in ``lifecycle.providers.twilio_sms``, the dispatcher's own recipe) is three lines over ``twilio.rest.Client`` with twilio 9.x:
set ``client.api.base_url``, clear ``client.edge`` and ``client.region`` after construction (the
constructor reads TWILIO_EDGE/TWILIO_REGION, even with ``environment={}``), and pass a
``TwilioHttpClient(timeout=...)``.

Sandbox API (HTTP on each server, mirrored by Python methods of the server objects):

- ``GET /_sandbox/messages?since=N``: accepted messages (``messages()``); ``GET /_sandbox/requests``:
  every vendor-endpoint request with status and fault (``requests()``); ``POST /_sandbox/reset``.
- ``GET|POST /_sandbox/faults``: the FaultConfig (``set_faults()``).
- ``GET|POST /_sandbox/webhooks``: webhook settings and delivery log (``configure_webhooks()``,
  ``webhook_deliveries()``); ``POST /_sandbox/webhooks/flush`` (``flush_webhooks()``).
- ``POST /_sandbox/emit``: simulated outcomes for accepted messages (``emit()``).
- SendGrid: ``GET /_sandbox/webhook_public_key``, ``POST /_sandbox/emit_event`` (``emit_event()``).
- Twilio: ``POST /_sandbox/emit_status`` (``emit_status()``), ``POST /_sandbox/inbound`` (``inbound()``).

Run both as a process with ``python -m lifecycle.provider_servers --sendgrid-port 8025 --twilio-port 8026``.
"""

from lifecycle.provider_servers.base import ProviderServer, WebhookSettings
from lifecycle.provider_servers.faults import FaultConfig
from lifecycle.provider_servers.outcomes import EmailOutcomes, SmsOutcomes
from lifecycle.provider_servers.sendgrid_server import DEFAULT_API_KEY, SendGridServer
from lifecycle.provider_servers.signing import EventWebhookSigner
from lifecycle.provider_servers.twilio_server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_FROM,
    TwilioServer,
)
from lifecycle.providers.twilio_sms import twilio_client_for

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_API_KEY",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_FROM",
    "EmailOutcomes",
    "EventWebhookSigner",
    "FaultConfig",
    "ProviderServer",
    "SendGridServer",
    "SmsOutcomes",
    "TwilioServer",
    "WebhookSettings",
    "twilio_client_for",
]
