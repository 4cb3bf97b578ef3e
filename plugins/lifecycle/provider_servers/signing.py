"""Webhook signatures exactly as the vendors make them, so receivers can verify with the official helpers.

SendGrid: ECDSA P-256 / SHA-256 over ``timestamp + raw body``, base64 DER, public key published as
base64 DER SubjectPublicKeyInfo (``sendgrid.helpers.eventwebhook.EventWebhook`` verifies).
Twilio: base64 HMAC-SHA1, keyed by the auth token, over the URL followed by each parameter name and
value in sorted order (``twilio.request_validator.RequestValidator`` verifies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"

# Order of the P-256 group: a private scalar must lie in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class EventWebhookSigner:
    """Signs SendGrid Event Webhook posts with a P-256 key derived from a seed or loaded from PEM.

    A seed-derived key is the same on every start, so a receiver configured with the public key keeps
    verifying across restarts of the sandbox.
    """

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._key = private_key
        spki = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_b64 = base64.b64encode(spki).decode()

    @classmethod
    def from_seed(cls, seed: int) -> EventWebhookSigner:
        digest = hashlib.sha256(f"sendgrid-event-webhook:{seed}".encode()).digest()
        scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
        return cls(ec.derive_private_key(scalar, ec.SECP256R1()))

    @classmethod
    def from_pem(cls, path: Path) -> EventWebhookSigner:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path} must hold an unencrypted P-256 (secp256r1) private key")
        return cls(key)

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two signature headers for ``body``, timestamped now unless told otherwise."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: stamp}


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """``X-Twilio-Signature`` for a form POST of ``params`` to ``url``."""
    payload = url
    for name in sorted(params):
        value = params[name]
        for item in sorted(set([value] if isinstance(value, str) else value)):
            payload += name + item
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
