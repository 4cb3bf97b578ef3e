"""Signed unsubscribe links: one per message, so the link names no address and cannot be forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus


def unsubscribe_signature(secret: str, message_key: str) -> str:
    digest = hmac.new(secret.encode(), message_key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def verify_unsubscribe_signature(secret: str, message_key: str, signature: str) -> bool:
    return hmac.compare_digest(unsubscribe_signature(secret, message_key), signature)


def unsubscribe_url(base_url: str, secret: str, message_key: str) -> str:
    """The RFC 8058 one-click target (POST) and the plain page (GET) share this URL. The query is what
    ``urlencode`` would write (the signature is URL-safe base64 already), built directly: it is made
    for every email sent."""
    return (
        f"{base_url}/unsubscribe?m={quote_plus(message_key)}&s={unsubscribe_signature(secret, message_key)}"
    )
