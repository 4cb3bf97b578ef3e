"""Email content shared by many recipients goes out in one SendGrid request (up to 1,000
personalizations). Per-recipient values travel as substitutions, so the rendered body is the same
for every member of a batch and only differs after SendGrid substitutes.

A template is rendered once with substitution tags in place of the personal fields (one tag for the
HTML part, whose value is escaped, and one for the text part and subject, whose value is not);
recipients whose rendered content is otherwise identical share a batch.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from lifecycle.ops_store.ledger import ClaimedMessage
from lifecycle.providers.sendgrid_email import MailRequest, Personalization
from lifecycle.templating import RenderedEmail, TemplateRenderer

MAX_PERSONALIZATIONS = 1000
# Template variables that differ per recipient and are only displayed (never tested in {% if %}).
PERSONAL_FIELDS = ("first_name", "unsubscribe_url")
# One encoder for every cache key: json.dumps with options builds a new encoder per call.
_CACHE_KEY = json.JSONEncoder(sort_keys=True, default=str)


def _tag(part: str, name: str) -> str:
    return f"-lc{part}_{name}-"


@dataclass(frozen=True)
class Recipient:
    message: ClaimedMessage
    personalization: Personalization
    content_hash: str

    @property
    def email(self) -> str:
        return self.personalization.to_email


@dataclass
class EmailBatch:
    subject: str
    html: str
    text: str
    category: str
    recipients: list[Recipient] = field(default_factory=list)
    addresses: set[str] = field(default_factory=set)

    def accepts(self, address: str) -> bool:
        return len(self.recipients) < MAX_PERSONALIZATIONS and address not in self.addresses

    def add(self, recipient: Recipient) -> None:
        self.recipients.append(recipient)
        self.addresses.add(recipient.email.lower())

    def request(self, from_email: str, from_name: str) -> MailRequest:
        return MailRequest(
            from_email=from_email,
            from_name=from_name,
            subject=self.subject,
            html=self.html,
            text=self.text,
            category=self.category,
            personalizations=tuple(r.personalization for r in self.recipients),
        )

    def split(self) -> list[EmailBatch]:
        """One batch per recipient, to find which recipient a refused request was refused for."""
        singles = []
        for recipient in self.recipients:
            single = EmailBatch(self.subject, self.html, self.text, self.category)
            single.add(recipient)
            singles.append(single)
        return singles


def shared_context(context: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in context.items() if k not in PERSONAL_FIELDS}


class BatchRenderer:
    """Renders each distinct (template, shared context) once, however many recipients share it."""

    def __init__(self, renderer: TemplateRenderer) -> None:
        self.renderer = renderer
        self._cache: dict[str, tuple[RenderedEmail, str]] = {}

    def render(self, template: str, context: dict[str, Any]) -> tuple[RenderedEmail, str]:
        """The tagged rendering and its digest; raises TemplateProblem like the plain renderer."""
        shared = shared_context(context)
        cache_key = _CACHE_KEY.encode([template, shared])
        cached = self._cache.get(cache_key)
        if cached is None:
            text_context = {**shared, **{n: _tag("t", n) for n in PERSONAL_FIELDS}}
            html_context = {**shared, **{n: Markup(_tag("h", n)) for n in PERSONAL_FIELDS}}
            text_part = self.renderer.render_email(template, text_context)
            html_part = self.renderer.render_email(template, html_context)
            rendered = RenderedEmail(subject=text_part.subject, html=html_part.html, text=text_part.text)
            digest = hashlib.sha256("\x1f".join((rendered.subject, rendered.html, rendered.text)).encode())
            cached = (rendered, digest.hexdigest())
            self._cache[cache_key] = cached
        return cached


def substitutions_for(context: dict[str, Any]) -> dict[str, str]:
    """Tag -> value for one recipient; HTML tags get the escaped value."""
    values: dict[str, str] = {}
    for name in PERSONAL_FIELDS:
        value = "" if context.get(name) is None else str(context[name])
        values[_tag("t", name)] = value
        values[_tag("h", name)] = str(escape(value))
    return values


def recipient_content_hash(shared_digest: str, substitutions: dict[str, str]) -> str:
    """What this recipient received: the shared content plus their own values."""
    payload = shared_digest + _CACHE_KEY.encode(substitutions)
    return hashlib.sha256(payload.encode()).hexdigest()


def group_into_batches(items: Iterable[tuple[RenderedEmail, str, str, Recipient]]) -> Iterator[EmailBatch]:
    """Group (content, digest, category, recipient) into batches of identical content, each with at
    most 1,000 recipients and every address at most once (SendGrid refuses a repeated address).

    A batch is yielded as soon as it is full, so it can be sent while later items are still being
    prepared; the partly filled ones follow once ``items`` is exhausted."""
    filling: dict[tuple[str, str], list[EmailBatch]] = defaultdict(list)
    for rendered, digest, category, recipient in items:
        address = recipient.email.lower()
        batches = filling[(digest, category)]
        target = next((b for b in batches if b.accepts(address)), None)
        if target is None:
            target = EmailBatch(rendered.subject, rendered.html, rendered.text, category)
            batches.append(target)
        target.add(recipient)
        if len(target.recipients) == MAX_PERSONALIZATIONS:
            batches.remove(target)
            yield target
    for batches in filling.values():
        yield from batches
