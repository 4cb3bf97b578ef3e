"""The receiver's two secrets, read at the edge: the environment first, then the Airflow connections the
senders already use. The values are returned, never logged."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

SENDGRID_KEY_ENV = "LIFECYCLE_SENDGRID_WEBHOOK_PUBLIC_KEY"
TWILIO_TOKEN_ENV = "LIFECYCLE_TWILIO_AUTH_TOKEN"


def _from_connection(conn_id: str, pick: Callable[[Any], str | None]) -> str | None:
    """A field of an Airflow connection, or None when Airflow is not installed or the connection is
    not defined (the endpoint then refuses requests until a key is configured)."""
    try:
        from airflow.sdk.bases.hook import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None
    try:
        return pick(BaseHook.get_connection(conn_id)) or None
    except AirflowNotFoundException:
        return None


def sendgrid_webhook_public_key() -> str | None:
    """``LIFECYCLE_SENDGRID_WEBHOOK_PUBLIC_KEY``, else ``sendgrid_default``'s extra ``webhook_public_key``."""
    return os.environ.get(SENDGRID_KEY_ENV) or _from_connection(
        "sendgrid_default", lambda conn: conn.extra_dejson.get("webhook_public_key")
    )


def twilio_auth_token() -> str | None:
    """``LIFECYCLE_TWILIO_AUTH_TOKEN``, else ``twilio_default``'s password (the account's auth token)."""
    return os.environ.get(TWILIO_TOKEN_ENV) or _from_connection("twilio_default", lambda conn: conn.password)
