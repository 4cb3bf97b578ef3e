"""Rendering message templates in a sandbox where a missing variable is an error, never a blank.

Templates live in ``include/templates``: ``email/<template>/subject.txt.j2``, ``body.html.j2`` and
``body.txt.j2``; ``sms/<template>.txt.j2``. HTML is autoescaped, so a first name with markup in it is
shown as text, not injected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment


class TemplateProblem(Exception):
    """A template that cannot render: names the template file and what to fix."""

    def __init__(self, template: str, problem: str, fix: str) -> None:
        super().__init__(f"template {template}: {problem}. Fix: {fix}")
        self.template, self.problem, self.fix = template, problem, fix


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


class TemplateRenderer:
    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def _render(self, path: str, context: dict[str, Any]) -> str:
        try:
            return self._env.get_template(path).render(context).strip()
        except jinja2.TemplateNotFound as exc:
            raise TemplateProblem(
                path,
                f"file {exc.name} not found under {self.templates_dir}",
                "create it or fix the step's template name",
            ) from exc
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(
                path,
                f"{exc.message}",
                "add the variable to the segment model's columns or remove it from the template",
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(
                f"{path}:{exc.lineno}", f"syntax error: {exc.message}", "correct the Jinja syntax"
            ) from exc
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateProblem(
                path, f"unsafe operation: {exc}", "templates may only format the given fields"
            ) from exc

    def render_email(self, template: str, context: dict[str, Any]) -> RenderedEmail:
        base = f"email/{template}"
        subject = self._render(f"{base}/subject.txt.j2", context)
        if "\n" in subject:
            raise TemplateProblem(
                f"{base}/subject.txt.j2", "the subject spans several lines", "keep it on one line"
            )
        return RenderedEmail(
            subject=subject,
            html=self._render(f"{base}/body.html.j2", context),
            text=self._render(f"{base}/body.txt.j2", context),
        )

    def render_sms(self, template: str, context: dict[str, Any]) -> str:
        return self._render(f"sms/{template}.txt.j2", context)
