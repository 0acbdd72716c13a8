"""The reply to send: the team's template where it renders, the default wording where not.

A team's subject and body are rendered separately in the sandbox; a part that fails (syntax,
sandbox, budget, size, renders empty) falls back to the default for that part alone and says
why in ``template_error``. The HTML body of a team's template is its text render, escaped as a
whole and split into paragraphs, lists and links: nothing an owner types, nor any value, can
become markup. Rendering never raises, whatever the template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from directory.autoreply import sandbox
from directory.autoreply.blocks import blocks_html, blocks_text, text_blocks
from directory.autoreply.default_reply import default_blocks, default_subject, notice_block, one_line
from directory.autoreply.facts import AutoReply, ReplyFacts
from directory.autoreply.variables import template_context

__all__ = ["MAX_SUBJECT_CHARS", "PARTS", "render_auto_reply"]

MAX_SUBJECT_CHARS = 200


def _render_subject(source: str, context: dict[str, Any]) -> str:
    subject = one_line(sandbox.render(source, context))
    if not subject:
        raise sandbox.TemplateProblem("the subject renders empty")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise sandbox.TemplateProblem(f"the subject is longer than {MAX_SUBJECT_CHARS} characters")
    return subject


def _render_body(source: str, context: dict[str, Any]) -> tuple[str, str]:
    lines = [line.rstrip() for line in sandbox.render(source, context).replace("\r", "").split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise sandbox.TemplateProblem("the message renders empty")
    return text + "\n", blocks_html(text_blocks(text))


PARTS: dict[str, Callable[[str, dict[str, Any]], Any]] = {"subject": _render_subject, "body": _render_body}
"""The parts of a team template, each with how it is rendered: the subject to one header line,
the body to its text and HTML."""


def render_auto_reply(facts: ReplyFacts, template: dict | None = None) -> AutoReply:
    """The reply to send now. ``template`` is the team's optional ``{"subject", "body"}``.

    Each part the team wrote is used when it renders; a part that fails (syntax, sandbox,
    budget, size) falls back to the default and the reason goes to ``template_error``.
    Never raises for any template input.
    """
    blocks = default_blocks(facts)
    rendered: dict[str, Any] = {
        "subject": default_subject(facts),
        "body": (blocks_text(blocks), blocks_html(blocks)),
    }
    from_team, errors = _team_parts(facts, template)
    rendered.update(from_team)
    text, html = rendered["body"]
    notices = notice_block(facts) if "body" in from_team else []
    if notices:
        text, html = blocks_text([notices]) + "\n" + text, blocks_html([notices]) + html
    return AutoReply(
        subject=rendered["subject"],
        text=text,
        html=html,
        template_used="team" if from_team else "default",
        template_error="; ".join(errors) or None,
    )


def _team_parts(facts: ReplyFacts, template: Any) -> tuple[dict[str, Any], list[str]]:
    """The parts of the team's template that render, and why each other part it wrote did not."""
    if template is not None and not isinstance(template, Mapping):
        return {}, ["the template must be an object with 'subject' and 'body'"]
    rendered: dict[str, Any] = {}
    errors: list[str] = []
    context: dict[str, Any] | None = None
    for part, render in PARTS.items():
        source = template.get(part) if template else None
        if source is None or (isinstance(source, str) and not source.strip()):
            continue
        try:
            if not isinstance(source, str):
                raise sandbox.TemplateProblem("must be text")
            context = context or template_context(facts)
            rendered[part] = render(source, context)
        except Exception as exc:  # any failure of the team's part means the default part
            errors.append(f"{part}: {sandbox.describe(exc)}")
    return rendered, errors
