"""directory.autoreply.check: whether a team template may be saved."""

from __future__ import annotations

from typing import Any

import pytest

from directory.autoreply import check_template, sandbox
from directory.autoreply.check import SPARSE_FACTS
from directory.autoreply.sandbox import MAX_TEMPLATE_CHARS
from tests.autoreply.factories import TEAM_BODY
from tests.autoreply.test_sandbox import LIST_IN_LOOP, QUADRATIC_IN_SERVICES, SPREAD_CYCLE


def test_check_template_accepts_a_good_template() -> None:
    assert check_template({"subject": "Re: {{ team_name }}", "body": TEAM_BODY}) == {}
    assert check_template({"subject": None, "body": None}) == {}


def test_check_template_names_the_field_and_line() -> None:
    errors = check_template({"subject": "Thanks", "body": "Hello\n\n{{ team_name }\n"})

    assert list(errors) == ["body"]
    assert errors["body"] == ["line 3: unexpected '}'"]


def test_check_template_reports_each_field() -> None:
    errors = check_template({"subject": "{{ nope }}", "body": "x" * (MAX_TEMPLATE_CHARS + 1)})

    assert errors == {
        "subject": ["line 1: unknown variable 'nope'"],
        "body": [f"the template is longer than {MAX_TEMPLATE_CHARS:,} characters"],
    }


def test_check_template_runs_the_template() -> None:
    assert check_template({"body": "{{ ''.__class__ }}"}) == {
        "body": ["line 1: access to '__class__' of str is not allowed"]}
    assert check_template({"body": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"})


def test_check_template_tries_a_team_without_details() -> None:
    errors = check_template({"body": "{% for key, value in booking.items() %}{{ key }}{% endfor %}"})

    assert errors == {"body": ["line 1: 'None' has no attribute 'items' "
                               "(for a team with no hours, services or booking)"]}


def test_check_template_shapes() -> None:
    assert check_template({"body": 3}) == {"body": ["must be text"]}
    assert check_template(["body"]) == {"_schema": ["must be an object with 'subject' and 'body'"]}


@pytest.mark.parametrize(("body", "reason"), [
    (SPREAD_CYCLE, "a call may pass at most 32 arguments"),
    (LIST_IN_LOOP, "too much work"),
    (QUADRATIC_IN_SERVICES, "too much work (too many loops or too much text) (for a team with 100 services"),
])
def test_a_costly_template_is_refused_when_saved(body: str, reason: str) -> None:
    errors = check_template({"subject": "Re: {{ team_name }}", "body": body})
    assert list(errors) == ["body"]
    assert any(reason in message for message in errors["body"])


def test_templates_owners_write_are_still_accepted() -> None:
    listing = ("{% for s in services %}- {{ s.name }}: {{ s.description }} ({{ s.turnaround_text }})\n"
               "{% endfor %}{% for c in contacts %}{{ c.label }}: {{ c.value }}\n{% endfor %}")
    assert check_template({"body": listing}) == {}
    assert check_template({"body": "{% for s in services %}{{ loop.cycle('odd', 'even') }} {{ s.name }}\n"
                                   "{% endfor %}"}) == {}


def test_a_template_shared_by_many_teams_is_tried_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials now include the largest team; an import of a thousand teams with one template must
    not pay for them a thousand times."""
    tried = []
    real = sandbox.render

    def counting(source: str, context: dict[str, Any]) -> str:
        tried.append(source)
        return real(source, context)

    monkeypatch.setattr(sandbox, "render", counting)
    template = {"subject": None, "body": "Thanks for writing to {{ team_name }} ({{ services|length }} services)."}
    for _ in range(50):
        assert check_template(dict(template)) == {}
    assert len(tried) == 3  # the sample team, a sparse one and the largest one, once
    assert check_template(template, SPARSE_FACTS) == {}  # a team's own facts are always tried
    assert len(tried) == 7
