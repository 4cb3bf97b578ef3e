"""The signed per-message unsubscribe link: a confirmation page (GET) and the unsubscribe itself (POST).

GET only shows a page, because mail scanners and link previews fetch links nobody clicked. POST is
both the page's button and RFC 8058 one-click (``List-Unsubscribe=One-Click``, sent by the mailbox
provider without cookies or redirects). The link names a message, never an address: the recipient is
looked up in the ledger and appears in no page and no log line.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from lifecycle.ops_store.events import Suppress, apply_effect, message_recipient
from lifecycle.unsubscribe import verify_unsubscribe_signature
from lifecycle.webhooks.state import ReceiverState

log = logging.getLogger(__name__)
router = APIRouter()

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the URL is a capability: do not leak it to other sites
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:36rem;margin:3rem auto;padding:0 1rem;"
    "color:#1a1a1a;background:#fff}button{font:inherit;padding:.6rem 1.2rem;border:2px solid #1a1a1a;"
    "border-radius:.3rem;background:#1a1a1a;color:#fff;cursor:pointer}button:focus{outline:3px solid #0b57d0;"
    "outline-offset:2px}"
)


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status_code, headers=_HEADERS)


def _refusal(state: ReceiverState, key: str, signature: str) -> HTMLResponse | None:
    """The page to answer instead, when the link is not one we signed."""
    if not state.settings.unsubscribe_secret:
        log.error("unsubscribe link used but LIFECYCLE_UNSUBSCRIBE_SECRET is not set")
        return _page("Unsubscribe unavailable", "<p>Please try again later.</p>", 503)
    if (
        not key
        or not signature
        or not verify_unsubscribe_signature(state.settings.unsubscribe_secret, key, signature)
    ):
        log.warning("unsubscribe refused: invalid signature")
        return _page(
            "This link is not valid",
            "<p>Please use the unsubscribe link from the email exactly as it was sent.</p>",
            403,
        )
    return None


def _not_found() -> HTMLResponse:
    return _page("Message not found", "<p>We could not find the email this link belongs to.</p>", 404)


@router.get("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_page(request: Request, m: str = "", s: str = "") -> HTMLResponse:
    state: ReceiverState = request.app.state.receiver
    if refusal := _refusal(state, m, s):
        return refusal
    recipient = await run_in_threadpool(message_recipient, state.engine, m)
    if recipient is None or recipient.channel != "email":
        return _not_found()
    brand = html.escape(state.settings.brand.sender_name)
    action = html.escape("?" + urlencode({"m": m, "s": s}))
    return _page(
        f"Unsubscribe from {state.settings.brand.sender_name} emails",
        f"<p>You will no longer receive lifecycle and offer emails from {brand} at the address this "
        "email was sent to.</p>"
        f'<form method="post" action="{action}"><button type="submit">Unsubscribe</button></form>',
    )


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, m: str = "", s: str = "") -> HTMLResponse:
    state: ReceiverState = request.app.state.receiver
    if refusal := _refusal(state, m, s):
        return refusal
    recipient = await run_in_threadpool(message_recipient, state.engine, m)
    if recipient is None or recipient.channel != "email":
        return _not_found()
    form = await request.form()
    source = "one_click" if form.get("List-Unsubscribe") == "One-Click" else "unsubscribe_page"
    effect = Suppress("email", recipient.recipient, "unsubscribe", source, consent_evidence=f"message {m}")
    changed = await run_in_threadpool(apply_effect, state.engine, effect, state.now())
    log.info("unsubscribe via %s for message %s%s", source, m, "" if changed else " (already suppressed)")
    brand = html.escape(state.settings.brand.sender_name)
    return _page(
        "You are unsubscribed",
        f"<p>You will not receive lifecycle or offer emails from {brand} at this address any more.</p>",
    )
