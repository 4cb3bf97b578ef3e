"""Templates render in a sandbox: escaped HTML, strict variables, a clear error naming the file."""

from pathlib import Path

import pytest

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
}


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
