"""Sequence definitions (config.meta.sequence beside each segment model) checked against the templates:
every step's templates exist and render with the contract's fields, strictly; a problem stops the run
naming the file, the sequence, the step and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from lifecycle.dispatch.dispatcher import channel_context
from lifecycle.sequences import (
    SequenceProblems,
    load_sequences,
    sample_context,
    step_templates,
    validate,
)
from lifecycle.settings import REPO_ROOT, load_settings
from lifecycle.sms_rules import num_segments
from lifecycle.templating import TemplateRenderer
from tests.messaging_rows import INTERFACE, write_project

BRAND = load_settings().brand
TEMPLATES = REPO_ROOT / "include" / "templates"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    return copy


def problems(project: Path, templates_dir: Path) -> list[str]:
    with pytest.raises(SequenceProblems) as error:
        validate(project, templates_dir, BRAND)
    return error.value.problems


def test_every_step_of_the_interface_has_templates_that_render(tmp_path):
    sequences = validate(write_project(tmp_path), TEMPLATES, BRAND)
    assert {s.name: [(st.name, st.channel, st.template) for st in s.steps] for s in sequences} == {
        name: [(step, channel, f"{name}_{step}") for step, channel in steps]
        for name, steps in INTERFACE.items()
    }


def test_every_sms_fits_one_segment_and_ends_with_the_opt_out_hint(tmp_path):
    renderer = TemplateRenderer(TEMPLATES)
    sms = [t for t in step_templates(load_sequences(write_project(tmp_path))) if t.channel == "sms"]
    assert {(t.sequence.name, t.step.name) for t in sms} == {("welcome", "day_5"), ("annual_upsell", "day_6")}
    for item in sms:
        for nulls in (False, True):
            context = channel_context(
                sample_context(item.sequence.name, item.step.name, nulls=nulls), BRAND, "sms"
            )
            body = renderer.render_sms(item.step.template, context)
            assert num_segments(body) == 1, body
            assert body.endswith("Reply STOP to opt out."), body


def test_emails_show_the_reason_and_the_personal_fields(tmp_path):
    renderer = TemplateRenderer(TEMPLATES)
    context = channel_context(sample_context("cross_sell", "day_0"), BRAND, "email", "https://u.example/x")
    email = renderer.render_email("cross_sell_day_0", context)
    assert email.subject == "An idea for Acme Analytics: Workflow Automation"
    for body in (email.text, email.html):
        assert "Since your team used automation 34 times in the last 28 days, we think " in body
        assert "$39 a month" in body and "/add-ons/automation_addon" in body
    renewal = channel_context(sample_context("renewal_reminder", "renewal_1d"), BRAND, "email", "https://u")
    renewal["days_until_renewal"], renewal["renewal_date"] = 1, "2028-02-29"
    email = renderer.render_email("renewal_reminder_renewal_1d", renewal)
    assert email.subject == "Your Team (annual) plan renews tomorrow"
    assert "renews tomorrow, February 29, 2028, and we will charge $990" in email.text


def test_an_unknown_template_names_the_definition_the_step_and_the_fix(tmp_path):
    project = write_project(tmp_path, **{"cross_sell.day_4": {"template": "cross_sell_follow_up"}})
    [problem] = problems(project, TEMPLATES)
    assert "segment_cross_sell.yml: sequence cross_sell, step day_4 (email)" in problem
    assert "email/cross_sell_follow_up/subject.txt.j2 does not exist" in problem
    assert "Fix: create email/cross_sell_follow_up/subject.txt.j2, body.html.j2 and body.txt.j2" in problem


def test_an_sms_or_email_step_needs_both_templates(tmp_path, templates):
    (templates / "sms" / "welcome_day_5.txt.j2").unlink()
    [problem] = problems(write_project(tmp_path), templates)
    assert "sequence welcome, step day_5 (sms)" in problem and "sms/welcome_day_5.txt.j2" in problem


def test_a_template_using_a_missing_variable_names_the_file_and_the_fix(tmp_path, templates):
    body = templates / "email" / "welcome_day_2" / "body.txt.j2"
    body.write_text(body.read_text().replace("Hi {{ first_name }},", "Hi {{ first_nam }},"))
    [problem] = problems(write_project(tmp_path), templates)
    assert f"template {body}: 'first_nam' is undefined" in problem
    assert "sequence welcome, step day_2 (email)" in problem
    assert (
        "add the field as a column of the segment model segment_welcome and to the `personalization:` list"
        in problem
    )


def test_a_field_the_definition_adds_can_be_used_without_touching_python(tmp_path, templates):
    project = write_project(tmp_path)
    definition = project / "models" / "segments" / "segment_cross_sell.yml"
    document = yaml.safe_load(definition.read_text())
    document["models"][0]["config"]["meta"]["sequence"]["personalization"] = [
        "recommended_addon_name",
        "seats_used",
    ]
    definition.write_text(yaml.safe_dump(document))
    body = templates / "email" / "cross_sell_day_0" / "body.txt.j2"
    body.write_text(
        body.read_text().replace("Hi {{ first_name }},", "Hi {{ first_name }} ({{ seats_used }} seats),")
    )
    assert sorted(s.name for s in validate(project, templates, BRAND)) == sorted(INTERFACE)


def test_a_nullable_field_shown_without_a_condition_is_caught(tmp_path, templates):
    sms = templates / "sms" / "welcome_day_5.txt.j2"
    sms.write_text("{{ sender_name }}: trial ends {{ trial_ends_on }}. Reply STOP to opt out.")
    [problem] = problems(write_project(tmp_path), templates)
    assert "step day_5 (sms)" in problem and "shows 'None' when trial_ends_on is null" in problem


def test_an_email_without_its_footer_or_an_sms_without_stop_is_caught(tmp_path, templates):
    (templates / "email" / "cross_sell_day_4" / "body.txt.j2").write_text("Hi {{ first_name }}, buy it.")
    (templates / "sms" / "annual_upsell_day_6.txt.j2").write_text("{{ sender_name }}: go annual!")
    found = sorted(problems(write_project(tmp_path), templates), key=lambda p: "cross_sell" not in p)
    assert len(found) == 2
    assert "step day_4 (email): the text body of cross_sell_day_4 lacks the unsubscribe link" in found[0]
    assert 'Fix: include "email/_footer.txt.j2"' in found[0]
    assert "step day_6 (sms): sms/annual_upsell_day_6.txt.j2 does not end with the opt-out hint" in found[1]


def test_a_syntax_error_names_the_line(tmp_path, templates):
    (templates / "email" / "welcome_day_2" / "subject.txt.j2").write_text("Tips {% if %}")
    [problem] = problems(write_project(tmp_path), templates)
    assert (
        "welcome_day_2/subject.txt.j2:1: syntax error" in problem
        and "Fix: correct the Jinja syntax" in problem
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"channel": "fax"},
            "sequence welcome, step day_2: channel 'fax' is unknown. Fix: use one of email, sms, sms_or_email",
        ),
        ({"name": None}, "sequence welcome, step #2: no name. Fix: add `name: <step>`"),
    ],
)
def test_a_malformed_step_names_file_sequence_step_and_fix(tmp_path, override, expected):
    project = write_project(tmp_path, **{"welcome.day_2": override})
    [problem] = problems(project, TEMPLATES)
    assert problem.startswith(str(project / "models" / "segments" / "segment_welcome.yml"))
    assert expected in problem


def test_no_definitions_or_broken_yaml_fail_fast(tmp_path):
    assert "no segment model defines a sequence" in problems(write_project(tmp_path, {}), TEMPLATES)[0]
    other = write_project(tmp_path / "other")
    (other / "models" / "segments" / "segment_welcome.yml").write_text("models:\n  - name: [unclosed\n")
    [problem] = problems(other, TEMPLATES)
    assert "segment_welcome.yml: not valid YAML" in problem


def test_personal_text_is_escaped_in_html_wherever_a_macro_shows_it():
    renderer = TemplateRenderer(TEMPLATES)
    personal = {"entry_reason": "Since your team uses <Security & SSO>", "company_name": "R&D <Labs>"}
    context = channel_context(
        {**sample_context("cross_sell", "day_4"), **personal}, BRAND, "email", "https://u.example/x"
    )
    for template in ("cross_sell_day_0", "cross_sell_day_4"):
        email = renderer.render_email(template, context)
        assert "<Security" not in email.html and "<Labs>" not in email.html
        assert "uses &lt;Security &amp; SSO&gt;" in email.html or "R&amp;D &lt;Labs&gt;" in email.html
        assert "&amp;" not in email.text
