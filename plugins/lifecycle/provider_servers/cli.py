"""Run the SendGrid and Twilio contract servers as a process (docker-compose, the demo).

Credentials come from the variables the official clients read (``SENDGRID_API_KEY``,
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``), else the sandbox defaults; they are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from pathlib import Path

from lifecycle.provider_servers.faults import FaultConfig
from lifecycle.provider_servers.sendgrid_server import DEFAULT_API_KEY, SendGridServer
from lifecycle.provider_servers.signing import EventWebhookSigner
from lifecycle.provider_servers.twilio_server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.provider_servers", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 in a container)")
    parser.add_argument("--sendgrid-port", type=int, default=8025)
    parser.add_argument("--twilio-port", type=int, default=8026)
    parser.add_argument("--webhook-url", help="where SendGrid Event Webhook posts go")
    parser.add_argument("--twilio-inbound-url", help="where simulated inbound SMS (STOP/START/HELP) go")
    parser.add_argument("--auto-emit", action="store_true", help="simulate outcomes right after each accept")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every vendor request")
    parser.add_argument("--capacity-rps", type=float, help="token-bucket capacity; 429 above it")
    parser.add_argument(
        "--seed", type=int, default=0, help="fixes ids, fault draws, outcomes and the signing key"
    )
    parser.add_argument("--signing-key", type=Path, help="PEM P-256 private key for Event Webhook signatures")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    faults = FaultConfig(latency_ms=args.latency_ms, capacity_rps=args.capacity_rps, seed=args.seed)
    signer = EventWebhookSigner.from_pem(args.signing_key) if args.signing_key else None
    sendgrid = SendGridServer(
        os.environ.get("SENDGRID_API_KEY", DEFAULT_API_KEY),
        host=args.host,
        port=args.sendgrid_port,
        seed=args.seed,
        faults=faults,
        webhook_url=args.webhook_url,
        auto_emit=args.auto_emit,
        signer=signer,
    )
    twilio = TwilioServer(
        os.environ.get("TWILIO_ACCOUNT_SID", DEFAULT_ACCOUNT_SID),
        os.environ.get("TWILIO_AUTH_TOKEN", DEFAULT_AUTH_TOKEN),
        host=args.host,
        port=args.twilio_port,
        seed=args.seed,
        faults=faults,
        inbound_url=args.twilio_inbound_url,
        auto_emit=args.auto_emit,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with sendgrid, twilio:
        summary = {
            "sendgrid_url": sendgrid.base_url,
            "twilio_url": twilio.base_url,
            "twilio_account_sid": twilio.account_sid,
            "sendgrid_webhook_public_key": sendgrid.public_key,
        }
        print(json.dumps(summary), flush=True)
        stop.wait()
        for server in (sendgrid, twilio):
            server.flush_webhooks(timeout=5.0)
    return 0
