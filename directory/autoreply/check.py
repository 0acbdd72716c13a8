"""Whether a team template can be saved: ``check_template`` for the editor and the API.

A template is vetted by rendering it, under half the budget of a real render, for the team
itself when known, for the sample team, for a team with nothing set and for the largest team
a template can meet. What passes keeps working when the team's details change, and renders well
within the budget for any team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from directory.autoreply import sandbox
from directory.autoreply.facts import SAMPLE_FACTS, ReplyFacts
from directory.autoreply.render import PARTS
from directory.autoreply.variables import template_context

__all__ = ["SPARSE_FACTS", "WORST_FACTS", "check_template"]

SPARSE_FACTS = ReplyFacts(
    team_name="Payroll", team_slug="payroll", team_url="https://directory.example/teams/payroll",
    summary=None, is_open=False, hours_published=False, status_text="Hours not published",
    status_text_reader=None, reply_by_text=None, reply_by_text_reader=None,
    response_time_text=None, services=[], booking=None, escalation=None, contacts=[],
    timezone="Europe/London",
)  # fmt: skip
"""A team with nothing set but its name: a template must not need what a team may leave out."""


def _worst_facts() -> ReplyFacts:
    """The costliest team a template can meet: as many services and contacts as a team may have
    (CONTRACT limits: 100 services, 50 contacts), every text given, the reader in another zone,
    and the whole just within the size a render accepts (the sandbox's ``_MAX_VALUE``). A
    template's cost grows with these, so one that fits the save budget here fits the render
    budget for any team."""
    booking = {"method": "form", "url": "https://intranet.example/forms/" + "b" * 60,
               "instructions": "Use the form and attach what you have. " * 3}
    services = [{"name": f"Service {n}: " + "s" * 40, "description": "Wrong amount, missing overtime. " * 12,
                 "turnaround_text": "3 business days", "done_by_text": "Fri 29 Nov at 11:00", "booking": booking}
                for n in range(100)]
    contacts = [{"kind": "email", "value": f"team{n}@example.com", "label": "Team mailbox"} for n in range(50)]
    return replace(
        SAMPLE_FACTS, summary="Salaries, payslips, tax codes and expense reimbursement. " * 5,
        status_text_zoned="Open until 17:30 London time", services=services, contacts=contacts,
        urgent_contacts=contacts[:10], booking=booking, escalation="Ask for the manager via the mailbox. " * 10,
    )


WORST_FACTS = _worst_facts()


_TRIALS = [(SAMPLE_FACTS, ""), (SPARSE_FACTS, " (for a team with no hours, services or booking)"),
           (WORST_FACTS, " (for a team with 100 services and 50 contacts)")]
# Outcomes of the standard trials by part and source: an import of many teams sharing a template
# tries it once. Bounded, and cleared whole when full.
_TRIED: dict[tuple[str, str], tuple[str, ...]] = {}
_TRIED_MAX = 256


def check_template(template: dict, facts: ReplyFacts | None = None) -> dict[str, list[str]]:
    """Field errors for the template editor and API validation; empty when usable.

    Checks size, syntax, unknown names, and trial-renders against ``facts`` (the team's own,
    when the caller has them), ``SAMPLE_FACTS``, a team with no hours, services or booking, and
    the largest team (``WORST_FACTS``), so that a saved template keeps working when the team's
    details change; each trial must fit ``SAVE_BUDGET``, half the budget of a real render.
    """
    if not isinstance(template, Mapping):
        return {"_schema": ["must be an object with 'subject' and 'body'"]}
    errors: dict[str, list[str]] = {}
    for part in PARTS:
        source = template.get(part)
        if source is None:
            continue
        if not isinstance(source, str):
            errors[part] = ["must be text"]
            continue
        if not source.strip():
            continue
        if facts is not None:
            problems = _trial_problems(part, source, [(facts, ""), *_TRIALS])
        else:
            problems = _standard_trial_problems(part, source)
        if problems:
            errors[part] = problems
    return errors


def _standard_trial_problems(part: str, source: str) -> list[str]:
    """The standard trials' outcome, remembered by part and source."""
    if (part, source) in _TRIED:
        return list(_TRIED[(part, source)])
    problems = _trial_problems(part, source, _TRIALS)
    # A slow moment of the machine is not remembered as the template's fault.
    if not any("takes too long" in problem for problem in problems):
        if len(_TRIED) >= _TRIED_MAX:
            _TRIED.clear()
        _TRIED[(part, source)] = tuple(problems)
    return problems


def _trial_problems(part: str, source: str, trials: list[tuple[ReplyFacts, str]]) -> list[str]:
    render = PARTS[part]
    problems: list[str] = []
    seen: set[str] = set()
    for trial_facts, situation in trials:
        try:
            with sandbox.work_budget(sandbox.SAVE_BUDGET):
                render(source, template_context(trial_facts))
        except Exception as exc:  # every failure is a message for the owner
            message = sandbox.describe(exc)
            empty_when_sparse = situation and isinstance(exc, sandbox.TemplateProblem) and "renders empty" in message
            # The largest team is tried for cost alone: that its reply outgrows a limit
            # says nothing about this team's, and falls back cheaply if it ever happens.
            beside_the_point = trial_facts is WORST_FACTS and not isinstance(exc, (sandbox.TooCostly, RecursionError))
            if message not in seen and not empty_when_sparse and not beside_the_point:
                seen.add(message)
                problems.append(message + situation)
    return problems
