"""Templates render in a sandbox: escaped HTML, strict variables, a clear error naming the file."""

from pathlib import Path

import pytest

from lifecycle.dispatch.email_batches import BatchRenderer
from lifecycle.sequences import sample_context
from lifecycle.settings import REPO_ROOT
from lifecycle.templating import TemplateProblem, TemplateRenderer

CONTEXT = {
    "first_name": "Ada",
    "plan_name": "Team (monthly)",
    "entry_reason": "Since your team started a Team trial today",
    "locale": "en-GB",
    "sender_name": "Northwind Cloud",
    "postal_address": "500 Market Street, San Francisco",
    "app_url": "https://app.example",
    "unsubscribe_url": "https://hooks.example/unsubscribe?m=k&s=sig",
    "why_you_get_this": "you have a Northwind Cloud account",
    # as the dispatcher derives them from entry_reason (reason_phrases)
    "reason_clause": "Since your team started a Team trial today",
    "reason_why": "since your team started a Team trial today",
}


BRAND_CONTEXT = {k: CONTEXT[k] for k in ("sender_name", "postal_address", "app_url", "why_you_get_this")}
BRAND_CONTEXT |= {k: CONTEXT[k] for k in ("unsubscribe_url", "reason_clause", "reason_why")}


@pytest.fixture
def renderer() -> TemplateRenderer:
    return TemplateRenderer(REPO_ROOT / "include" / "templates")


def test_welcome_email_renders_with_reason_unsubscribe_and_address(renderer):
    email = renderer.render_email("welcome_day_0", CONTEXT)
    assert email.subject == "Welcome to Northwind Cloud, Ada: your first 10 minutes"
    for body in (email.html, email.text):
        assert "You are getting this email since your team started a Team trial today." in body
        assert "500 Market Street, San Francisco" in body
        assert "unsubscribe?m=k" in body


def test_html_in_a_first_name_is_escaped_in_html_and_kept_as_text_in_text(renderer):
    email = renderer.render_email("welcome_day_0", {**CONTEXT, "first_name": "<b>Eve</b>"})
    assert "<b>Eve</b>" not in email.html and "&lt;b&gt;Eve&lt;/b&gt;" in email.html
    assert "Hi <b>Eve</b>," in email.text


def test_missing_variable_names_the_template_and_the_fix(renderer):
    context = {k: v for k, v in CONTEXT.items() if k != "plan_name"}
    with pytest.raises(TemplateProblem) as error:
        renderer.render_email("welcome_day_0", context)
    assert "email/welcome_day_0/body.html.j2" in str(error.value)
    assert "'plan_name' is undefined" in str(error.value)
    assert "segment model" in error.value.fix


def test_unknown_template_is_named(renderer):
    with pytest.raises(TemplateProblem, match=r"email/no_such_step/subject\.txt\.j2"):
        renderer.render_email("no_such_step", CONTEXT)


def test_sandbox_refuses_unsafe_attribute_access(tmp_path: Path):
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "evil.txt.j2").write_text("{{ first_name.__class__.__mro__ }}")
    with pytest.raises(TemplateProblem):
        TemplateRenderer(tmp_path).render_sms("evil", CONTEXT)


def write_email(root: Path, name: str, subject: str, html: str, text: str) -> None:
    folder = root / "email" / name
    folder.mkdir(parents=True)
    for part, source in (("subject.txt.j2", subject), ("body.html.j2", html), ("body.txt.j2", text)):
        (folder / part).write_text(source)


def test_variable_uses_follow_every_part_and_the_templates_that_share_the_context(tmp_path):
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "_layout.html.j2").write_text("<p>{{ footer }}</p>{% block body %}{% endblock %}")
    (tmp_path / "email" / "_part.txt.j2").write_text("{{ included }} {{ amount | round }}")
    (tmp_path / "email" / "_macros.j2").write_text(
        "{% macro shout(x) %}{{ x | upper }}{{ private }}{% endmacro %}"
    )
    (tmp_path / "email" / "_with.j2").write_text("{% macro why() %}{{ reason }}{% endmacro %}")
    write_email(
        tmp_path,
        "t",
        "Hi {{ first_name }}",
        '{% extends "email/_layout.html.j2" %}{% import "email/_with.j2" as w with context %}'
        "{% block body %}{{ company }} {{ w.why() }} {% if vip %}VIP{% endif %}{{ 'a' if flag else 'b' }}"
        "{{ first_name[:1] }}{% endblock %}",
        '{% import "email/_macros.j2" as m %}{% include "email/_part.txt.j2" %}{{ m.shout(company) }}'
        "{% set local = 1 %}{{ local }}{% if both %}{{ both }}{% endif %}",
    )
    uses = TemplateRenderer(tmp_path).variable_uses("t")
    # printed bare everywhere: in a part, an extended layout, an included file, a macro imported with context
    assert uses.printed_only == {"footer", "included", "reason"}
    # first_name is also sliced, company also passed to a macro, both also printed, local assigned;
    # `private` sits in a macro imported without the context, so it is no context variable at all
    assert uses.tested_only == {"vip", "flag"}
    assert {"first_name", "company", "amount", "both", "local"} <= uses.referenced
    assert "private" not in uses.referenced


def test_a_template_chosen_at_run_time_is_never_reduced(tmp_path):
    write_email(tmp_path, "t", "{{ a }}", "{% include which %}", "{{ b }}")
    uses = TemplateRenderer(tmp_path).variable_uses("t")
    assert (uses.printed_only, uses.tested_only, uses.referenced) == (frozenset(), frozenset(), None)


def test_the_batch_renderer_renders_once_for_recipients_who_differ_only_in_what_cannot_show():
    class CountingRenderer(TemplateRenderer):
        renders = 0

        def render_email(self, template, context):
            CountingRenderer.renders += 1
            return super().render_email(template, context)

    batches = BatchRenderer(CountingRenderer(REPO_ROOT / "include" / "templates"))
    base = {**sample_context("cross_sell", "day_0"), **BRAND_CONTEXT}
    digests = set()
    # differing in a printed name (substituted), a tested-only signal (only its truth counts) and a field
    # the template never mentions
    for i in range(3):
        context = {**base, "first_name": f"N{i}", "need_signal": f"used it {i + 1} times", "unused": i}
        substituted = batches.substituted("cross_sell_day_0", context, ["first_name"])
        digests.add(batches.render("cross_sell_day_0", context, substituted)[1])
    assert substituted == ("first_name",)
    assert (len(digests), CountingRenderer.renders) == (1, 2)  # one text and one HTML rendering
    falsy = {**base, "need_signal": None}
    assert batches.render("cross_sell_day_0", falsy, ())[1] not in digests  # its truth shows
