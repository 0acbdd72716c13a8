"""directory.autoreply.sandbox: what a team template may do, and what it may cost.

Cost is counted (profiler events, calls made), never timed.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from directory.autoreply import SAMPLE_FACTS, check_template, render_auto_reply, sandbox
from directory.autoreply.check import WORST_FACTS
from directory.autoreply.sandbox import MAX_OUTPUT_CHARS, MAX_TEMPLATE_CHARS, TEMPLATE_FILTERS
from tests.autoreply.factories import make_facts

# What owners could save before: each renders for over a second within the old budget.
SPREAD_CYCLE = "{% for i in range(900) %}{{ loop.cycle(*range(900)) }}{% endfor %}"
LIST_IN_LOOP = "{% for i in range(900) %}{% set x = range(900)|list %}{% endfor %}ok"
# Cheap on a small team, a quarter of a million iterations on a large one.
QUADRATIC_IN_SERVICES = ("{% for a in services %}{% for b in services %}{% for c in contacts %}"
                         "{% endfor %}{% endfor %}{% endfor %}Thanks.")


MALICIOUS = {
    "class hierarchy": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__' of str is not allowed"),
    "private attribute alone": ("{{ ''.__class__ }}", "not allowed"),
    "globals through a function": ("{{ cycler.__init__.__globals__ }}", "not allowed"),
    "attr filter": ("{{ ''|attr('__class__') }}", "not allowed"),
    "map attribute": ("{{ services|map(attribute='__class__')|list }}", "not allowed"),
    "str.format": ("{{ '{0.__class__}'.format('') }}", "'format' of str is not allowed"),
    "huge range": ("{{ range(10**9)|list }}", "range() is limited to 100,000 items"),
    "nested big loops": ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
                         "too much work"),
    "huge repetition": ("{{ 'x' * 10**9 }}", "would grow past"),
    "huge power": ("{{ 10**10**10 }}", "would grow past 64 bits"),
    "huge power, right-nested": ("{{ 10**(10**10) }}", "would grow past 64 bits"),
    "huge output": ("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}",
                    f"output is longer than {MAX_OUTPUT_CHARS:,} characters"),
    "syntax error": ("Hello\n{% for %}\n", "line 2: "),
    "1 MB template": ("x" * 1_000_000, f"longer than {MAX_TEMPLATE_CHARS:,} characters"),
    "padding method": ("{{ 'x'.ljust(10**9) }}", "not allowed"),
    "printf width": ("{{ '%999999999d' % 1 }}", "format widths are limited"),
    "doubling in a namespace": (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "grew past"),
    "nesting lists": (
        "{% set ns = namespace(s=['x']) %}{% for i in range(64) %}{% set ns.s = [ns.s, ns.s] %}{% endfor %}"
        "{{ ns.s }}", "grew past"),
    "exponential macro": ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
                          "too much work"),
    "endless recursion": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "too deeply nested"),
    "quadratic join": ("{{ range(20000)|join('x' * 20000) }}", "would grow past"),
    "quadratic replace": ("{{ ('x' * 20000)|replace('', 'y' * 20000) }}", "would grow past"),
    "unknown variable": ("{{ lipsum(n=100000) }}", "unknown variable 'lipsum'"),
    "unsafe filter": ("{{ '<b>'|safe }}", "unknown filter 'safe'"),
    "include": ("{% include '/etc/passwd' %}", "cannot be included"),
}


@pytest.mark.parametrize(("body", "reason"), list(MALICIOUS.values()), ids=list(MALICIOUS))
def test_malicious_template_is_contained(body: str, reason: str) -> None:
    reply = render_auto_reply(make_facts(), {"body": body})  # finishing at all is the point

    assert reply.template_used == "default"
    assert reply.template_error.startswith("body: ")
    assert reason in reply.template_error
    assert reply.text == render_auto_reply(make_facts()).text


def test_malicious_subject_is_contained() -> None:
    reply = render_auto_reply(make_facts(), {"subject": "{{ ''.__class__ }}"})

    assert reply.subject == "We've received your message — Payroll"
    assert reply.template_error == "subject: line 1: access to '__class__' of str is not allowed"


def test_filters_that_build_markup_are_not_offered() -> None:
    assert {"safe", "escape", "e", "urlize", "xmlattr", "center", "indent"}.isdisjoint(TEMPLATE_FILTERS)
    assert check_template({"body": "{{ services|map(attribute='name')|join(', ')|upper|truncate(12) }}"}) == {}


# -- at render time: counted in profiler events (calls made), which do not depend on the machine --


def events_while(render: Any) -> int:
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        count += 1

    sys.setprofile(profile)
    try:
        render()
    finally:
        sys.setprofile(None)
    return count


@pytest.fixture
def no_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Profiling slows everything down: the budget alone must stop the render, not the clock."""
    monkeypatch.setattr(sandbox, "_DEADLINE_SECONDS", 10_000.0)


@pytest.mark.usefixtures("no_deadline")
@pytest.mark.parametrize(("body", "largest_team"), [
    (SPREAD_CYCLE, False),
    (LIST_IN_LOOP, False),
    ("{% for i in range(900) %}{% set x = services|list %}{% endfor %}ok", True),
    (QUADRATIC_IN_SERVICES, True),
])
def test_a_costly_template_already_saved_is_cut_short(body: str, largest_team: bool) -> None:
    """Templates saved before the limits fall back to the default after a bounded amount of work:
    under a million calls, where the old sandbox made 3.5 and 9.9 million for the first two."""
    facts = WORST_FACTS if largest_team else SAMPLE_FACTS
    cheap_body = "{{ team_name }} thanks you."
    for warm in (cheap_body, body):  # compiled once, as a running server has them
        render_auto_reply(facts, {"body": warm})
    cheap = events_while(lambda: render_auto_reply(facts, {"body": cheap_body}))
    reply: list[Any] = []
    costly = events_while(lambda: reply.append(render_auto_reply(facts, {"body": body})))
    assert reply[0].template_used == "default"
    assert "too much work" in reply[0].template_error or "at most 32 arguments" in reply[0].template_error
    assert costly - cheap < 1_000_000


@pytest.mark.usefixtures("no_deadline")
def test_spread_arguments_are_refused_before_each_is_looked_at(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_at = 0
    size = sandbox._size

    def counting(value: Any) -> int:
        nonlocal looked_at
        looked_at += 1
        return size(value)

    monkeypatch.setattr(sandbox, "_size", counting)
    reply = render_auto_reply(SAMPLE_FACTS, {"body": SPREAD_CYCLE})
    assert reply.template_used == "default"
    assert looked_at < 100  # the old sandbox sized all 900 arguments of each of 900 calls


# -- the sandbox on its own ------------------------------------------------------------------------

# About 60 units an iteration: past the save budget (120,000), within a render's (240,000).
BUSY_LOOP = "{% for i in range(2800) %}{% endfor %}done"


def test_render_runs_a_template_on_the_values_it_is_given() -> None:
    assert sandbox.render("{{ team_name|upper }}: {{ summary }}", {"team_name": "Payroll", "summary": None}) == (
        "PAYROLL: ")


def test_a_render_gets_the_budget_set_for_it() -> None:
    assert sandbox.render(BUSY_LOOP, {}) == "done"
    with sandbox.work_budget(sandbox.SAVE_BUDGET), pytest.raises(sandbox.TooCostly, match="too much work"):
        sandbox.render(BUSY_LOOP, {})
    assert sandbox.render(BUSY_LOOP, {}) == "done"  # the full budget is back after the block


def test_names_not_documented_are_refused_before_running() -> None:
    with pytest.raises(sandbox.TemplateProblem, match="unknown variable 'secret'"):
        sandbox.render("{{ secret }}", {"secret": "given but not documented"})


def test_filters_and_tests_only_run_inside_a_render() -> None:
    """Jinja runs constant expressions at compile time; nothing a template asks for may."""
    upper = sandbox._environment().filters["upper"]
    with pytest.raises(sandbox.Refused, match="only run inside render_auto_reply"):
        upper(None, "x")


@pytest.mark.parametrize(("source", "described"), [
    ("Hello\n\n{% if %}", "line 3: Expected an expression, got 'end of statement block'"),
    ("Hi\n{{ ''.__class__ }}", "line 2: access to '__class__' of str is not allowed"),
    ("{% macro f() %}{{ f() }}{% endmacro %}\n{{ f() }}", "too deeply nested (or a macro that calls itself)"),
])
def test_describe_says_why_and_where(source: str, described: str) -> None:
    with pytest.raises(Exception) as caught:
        sandbox.render(source, {})
    assert described in sandbox.describe(caught.value)


def test_describe_keeps_reasons_short() -> None:
    message = sandbox.describe(ValueError("x" * 1000))
    assert len(message) == 300 and message.endswith("...") and message.startswith("ValueError: xxx")
