"""The webhook receiver: SendGrid events, Twilio status callbacks and replies, unsubscribe links.

Each request is verified (provider signature or signed link) before anything is read from it, stored
once however often it arrives, and written only to the operational store (DESIGN.md invariants 1, 3, 7).
"""

from lifecycle.webhooks.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
