"""Rendering message templates in a sandbox where a missing variable is an error, never a blank.

Templates live in ``include/templates``: ``email/<template>/subject.txt.j2``, ``body.html.j2`` and
``body.txt.j2``; ``sms/<template>.txt.j2``. HTML is autoescaped, so a first name with markup in it is
shown as text, not injected.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

EMAIL_PARTS = ("subject.txt.j2", "body.html.j2", "body.txt.j2")


class TemplateProblem(Exception):
    """A template that cannot render: names the template file and what to fix."""

    def __init__(self, template: str, problem: str, fix: str) -> None:
        super().__init__(f"template {template}: {problem}. Fix: {fix}")
        self.template, self.problem, self.fix = template, problem, fix


@dataclass(frozen=True)
class VariableUses:
    """Variables a template only prints bare (``{{ name }}``: their values can travel as SendGrid
    substitutions) and variables it only tests for truth (``{% if name %}``, ``a if name else b``: only
    their truth matters). A name filtered, called, sliced, passed to a macro, assigned or used both ways
    is in neither."""

    printed_only: frozenset[str]
    tested_only: frozenset[str]
    referenced: frozenset[str] | None  # every name the templates mention; None: not knowable


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

    @functools.cache  # noqa: B019 (one renderer per dispatcher; templates do not change while it runs)
    def variable_uses(self, template: str) -> VariableUses:
        """How an email template uses its variables, over its three parts and every template they
        extend, include or import with context (email_batches batches by it)."""
        printed: set[str] = set()
        tested: set[str] = set()
        other: set[str] = set()
        seen: set[str] = set()
        pending = [f"email/{template}/{part}" for part in EMAIL_PARTS]
        while pending:
            path = pending.pop()
            if path in seen:
                continue
            seen.add(path)
            try:
                source, _, _ = self._env.loader.get_source(self._env, path)  # type: ignore[union-attr]
                tree = self._env.parse(source)
            except (jinja2.TemplateNotFound, jinja2.TemplateSyntaxError):
                continue  # rendering reports it, with the file named
            _collect_names(tree, printed, tested, other)
            for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
                shares_context = isinstance(node, nodes.Extends | nodes.Include) or node.with_context
                if shares_context and isinstance(node.template, nodes.Const):
                    pending.append(node.template.value)
                elif shares_context:
                    return VariableUses(frozenset(), frozenset(), None)  # chosen at run time: unknown
        return VariableUses(
            frozenset(printed - tested - other),
            frozenset(tested - printed - other),
            frozenset(printed | tested | other),
        )

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


def _collect_names(node: nodes.Node, printed: set[str], tested: set[str], other: set[str]) -> None:
    """Sort every variable name in ``node``: printed bare, tested for truth, or used otherwise."""
    if isinstance(node, nodes.Output):
        for child in node.nodes:
            if isinstance(child, nodes.Name) and child.ctx == "load":
                printed.add(child.name)
            else:
                _collect_names(child, printed, tested, other)
        return
    if isinstance(node, nodes.If | nodes.CondExpr) and isinstance(node.test, nodes.Name):
        tested.add(node.test.name)
        for child in node.iter_child_nodes(exclude=("test",)):
            _collect_names(child, printed, tested, other)
        return
    if isinstance(node, nodes.Name):
        other.add(node.name)  # loaded in an expression, assigned, or a macro's parameter
        return
    for child in node.iter_child_nodes():
        _collect_names(child, printed, tested, other)
