"""What every endpoint of the receiver shares: settings, the store, the signature verifiers, the clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from lifecycle.ops_store import connect, migrate
from lifecycle.ops_store.ledger import utcnow
from lifecycle.settings import Settings


class ReceiverState:
    """Holds the verifiers, never the raw secrets, and opens the store on first use, so building the
    app (e.g. when Airflow imports its plugins) never touches a database."""

    def __init__(
        self,
        settings: Settings,
        engine: sa.Engine | None,
        sendgrid_public_key: str | None,
        twilio_auth_token: str | None,
        max_age_s: float,
        clock: Callable[[], datetime] | None,
    ) -> None:
        self.settings = settings
        self.max_age_s = max_age_s
        self._clock = clock or utcnow
        self._engine = engine
        self._owns_engine = engine is None
        self._engine_lock = threading.Lock()
        self.sendgrid = _event_webhook(sendgrid_public_key) if sendgrid_public_key else None
        self.twilio = RequestValidator(twilio_auth_token) if twilio_auth_token else None

    def now(self) -> datetime:
        return self._clock()

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    engine = connect(self.settings.ops_db_url)
                    migrate(engine)
                    self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()


def _event_webhook(public_key: str) -> EventWebhook:
    try:
        verifier = EventWebhook(public_key.strip())
    except ValueError:
        verifier = None
    if verifier is None or not isinstance(verifier.public_key, ec.EllipticCurvePublicKey):
        raise ValueError(
            "the SendGrid webhook public key is not a base64 DER (SubjectPublicKeyInfo) ECDSA key: copy it "
            "from SendGrid's Mail Settings > Signed Event Webhook into LIFECYCLE_SENDGRID_WEBHOOK_PUBLIC_KEY "
            "or the sendgrid_default connection's extra webhook_public_key"
        )
    return verifier
