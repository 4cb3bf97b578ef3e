"""Email content shared by many recipients goes out in one SendGrid request (up to 1,000
personalizations). Per-recipient values travel as substitutions, so the rendered body is the same
for every member of a batch and only differs after SendGrid substitutes.

A template is rendered once with substitution tags in place of the recipient's own values that it only
prints bare (``TemplateRenderer.variable_uses``: one tag for the HTML part, whose value is escaped, and
one for the text part and subject, whose value is not), and with only the truth of the values it only
tests; recipients whose rendered content is otherwise identical share a batch. A value the template
formats or passes to a macro stays in the rendering, so recipients who differ in it get separate
requests.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from lifecycle.ops_store.ledger import ClaimedMessage
from lifecycle.providers.sendgrid_email import MailRequest, Personalization
from lifecycle.templating import RenderedEmail, TemplateRenderer

MAX_PERSONALIZATIONS = 1000
# SendGrid: "the total collective size of your substitutions may not exceed 10,000 bytes per
# personalization object". Measured as their JSON, which is never smaller than what SendGrid counts.
MAX_SUBSTITUTION_BYTES = 10_000
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


class BatchRenderer:
    """Renders each distinct (template, shared context) once, however many recipients share it."""

    CACHE_SIZE = 4096  # renderings kept (least recently used dropped): memory stays flat over a long run

    def __init__(self, renderer: TemplateRenderer) -> None:
        self.renderer = renderer
        self._cache: OrderedDict[str, tuple[RenderedEmail, str]] = OrderedDict()

    def substituted(self, template: str, context: dict[str, Any], personal: Iterable[str]) -> tuple[str, ...]:
        """Which of the recipient's own fields ``personal`` travel as substitutions for ``template``: those
        it only prints bare, unless empty (a None stays in the rendering, printed as Jinja prints it)."""
        printed = self.renderer.variable_uses(template).printed_only
        return tuple(sorted(n for n in personal if n in printed and context.get(n) is not None))

    def render(
        self, template: str, context: dict[str, Any], substituted: tuple[str, ...]
    ) -> tuple[RenderedEmail, str]:
        """The tagged rendering and its digest; raises TemplateProblem like the plain renderer."""
        uses = self.renderer.variable_uses(template)
        # what the rendering depends on: fields the template mentions, and of those it only tests, the truth
        shared = {
            k: bool(v) if k in uses.tested_only else v
            for k, v in context.items()
            if k not in substituted and (uses.referenced is None or k in uses.referenced)
        }
        cache_key = _CACHE_KEY.encode([template, shared])
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        text_context = {**shared, **{n: _tag("t", n) for n in substituted}}
        html_context = {**shared, **{n: Markup(_tag("h", n)) for n in substituted}}
        text_part = self.renderer.render_email(template, text_context)
        html_part = self.renderer.render_email(template, html_context)
        rendered = RenderedEmail(subject=text_part.subject, html=html_part.html, text=text_part.text)
        digest = hashlib.sha256("\x1f".join((rendered.subject, rendered.html, rendered.text)).encode())
        self._cache[cache_key] = (rendered, digest.hexdigest())
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return self._cache[cache_key]


def substitutions_for(context: dict[str, Any], substituted: tuple[str, ...]) -> dict[str, str]:
    """Tag -> value for one recipient, as Jinja prints it; HTML tags get the escaped value."""
    values: dict[str, str] = {}
    for name in substituted:
        value = str(context[name])
        values[_tag("t", name)] = value
        values[_tag("h", name)] = str(escape(value))
    return values


def within_substitution_limit(substitutions: dict[str, str]) -> bool:
    """Whether SendGrid accepts these substitutions in one personalization (see MAX_SUBSTITUTION_BYTES)."""
    return len(json.dumps(substitutions).encode()) <= MAX_SUBSTITUTION_BYTES


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
