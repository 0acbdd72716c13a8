"""Costly auto-reply templates: refused when saved, cut short when already saved, and rendered at
most a few times per team and minute whatever the request varies.

Cost is counted (profiler events, renders), never timed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm.attributes import flag_modified

import api.auto_reply
from directory import autoreply, services
from directory.autoreply import SAMPLE_FACTS, check_template, render_auto_reply
from directory.db import get_session

# What owners could save before: each renders for over a second within the old budget.
SPREAD_CYCLE = "{% for i in range(900) %}{{ loop.cycle(*range(900)) }}{% endfor %}"
LIST_IN_LOOP = "{% for i in range(900) %}{% set x = range(900)|list %}{% endfor %}ok"
# Cheap on a small team, a quarter of a million iterations on a large one.
QUADRATIC_IN_SERVICES = ("{% for a in services %}{% for b in services %}{% for c in contacts %}"
                         "{% endfor %}{% endfor %}{% endfor %}Thanks.")


# -- at save time -----------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "reason"), [
    (SPREAD_CYCLE, "a call may pass at most 32 arguments"),
    (LIST_IN_LOOP, "too much work"),
    (QUADRATIC_IN_SERVICES, "too much work (too many loops or too much text) (for a team with 100 services"),
])
def test_a_costly_template_is_refused_when_saved(body: str, reason: str) -> None:
    errors = check_template({"subject": "Re: {{ team_name }}", "body": body})
    assert list(errors) == ["body"]
    assert any(reason in message for message in errors["body"])


def test_the_api_refuses_it_with_a_422_naming_the_field(client: Any, make_team: Any,
                                                        auth_headers: dict[str, str]) -> None:
    make_team()
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    response = client.patch("/api/v1/teams/payroll", json={"auto_reply": {"subject": None, "body": SPREAD_CYCLE}},
                            headers={**auth_headers, "If-Match": etag})
    assert response.status_code == 422
    assert "at most 32 arguments" in " ".join(response.json["errors"]["auto_reply.body"])


def test_templates_owners_write_are_still_accepted() -> None:
    listing = ("{% for s in services %}- {{ s.name }}: {{ s.description }} ({{ s.turnaround_text }})\n"
               "{% endfor %}{% for c in contacts %}{{ c.label }}: {{ c.value }}\n{% endfor %}")
    assert check_template({"body": listing}) == {}
    assert check_template({"body": "{% for s in services %}{{ loop.cycle('odd', 'even') }} {{ s.name }}\n"
                                   "{% endfor %}"}) == {}


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
    monkeypatch.setattr(autoreply, "_DEADLINE_SECONDS", 10_000.0)


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
    facts = autoreply._WORST_FACTS if largest_team else SAMPLE_FACTS
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
    size = autoreply._size

    def counting(value: Any) -> int:
        nonlocal looked_at
        looked_at += 1
        return size(value)

    monkeypatch.setattr(autoreply, "_size", counting)
    reply = render_auto_reply(SAMPLE_FACTS, {"body": SPREAD_CYCLE})
    assert reply.template_used == "default"
    assert looked_at < 100  # the old sandbox sized all 900 arguments of each of 900 calls


# -- renders per team and minute ----------------------------------------------------------------


TEMPLATE = {"subject": "Re: {{ team_name }}", "body": "Hello from {{ team_name }}. {{ status_text }}."}


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every render of a team's own template by the API, counted."""
    calls: list[Any] = []
    real = api.auto_reply.render_auto_reply

    def counting(facts: Any, template: Any = None) -> Any:
        if template:
            calls.append(facts)
        return real(facts, template)

    monkeypatch.setattr(api.auto_reply, "render_auto_reply", counting)
    yield calls


@pytest.fixture
def clock(app: Flask) -> list[float]:
    """The render budget's clock, set by the test: [seconds since the epoch]."""
    now = [1_800_000_000.0]
    with app.app_context():
        budget = api.auto_reply._renders()
    budget.clock = lambda: now[0]
    return now


def save_template_unchecked(app: Flask, slug: str, template: dict[str, Any]) -> None:
    """As a template saved before the save-time checks would be."""
    with app.app_context():
        session = get_session()
        team = services.get_team(session, slug)
        team.data = {**team.data, "auto_reply": template}
        flag_modified(team, "data")
        session.commit()


def test_every_format_and_instant_of_a_minute_share_one_render(client: Any, make_team: Any,
                                                               renders: list[Any]) -> None:
    make_team(auto_reply=TEMPLATE)
    for second in ("05", "30", "59"):
        for fmt in ("text", "html", "json"):
            response = client.get(f"/api/v1/teams/payroll/auto-reply?at=2026-11-24T10:00:{second}Z&format={fmt}")
            assert response.status_code == 200
            assert "Hello from Payroll. Open until 17:30." in response.get_data(as_text=True)
    for fmt in ("text", "html", "json"):  # and so do the requests without `at`, within their minute
        assert client.get(f"/api/v1/auto-reply?to=payroll@example.com&format={fmt}").status_code == 200
    assert len(renders) in (2, 3)  # one for the instant asked, one for now (two if a minute turned)


def test_varying_instants_zones_and_hosts_cannot_force_renders(client: Any, make_team: Any, renders: list[Any],
                                                              clock: list[float]) -> None:
    make_team(auto_reply=TEMPLATE)
    zones = ["America/New_York", "Asia/Tokyo", "Europe/Paris", "Australia/Sydney", None]
    answers = []
    for n in range(64):
        query = {"at": f"2026-11-24T{9 + n // 60:02d}:{n % 60:02d}:00Z", "format": "json"}
        if zones[n % 5]:
            query["tz"] = zones[n % 5]
        response = client.get("/api/v1/teams/payroll/auto-reply", query_string=query,
                              base_url=f"http://host{n}.example")
        assert response.status_code == 200
        answers.append(response.json)
    assert len(renders) == api.auto_reply.RENDERS_PER_MINUTE
    skipped = [a for a in answers if a["template_skipped"]]
    assert len(skipped) == 64 - api.auto_reply.RENDERS_PER_MINUTE
    # Beyond the budget the facts are still right, in the default wording.
    assert all(a["template_used"] == "default" and a["facts"]["open"] for a in skipped)
    assert all(a["team"]["url"].startswith(f"http://host{n}.example/") for n, a in enumerate(answers))

    clock[0] += 60  # the next minute brings a new budget
    data = client.get("/api/v1/teams/payroll/auto-reply?at=2026-11-25T10:00:00Z&format=json").json
    assert (data["template_used"], data["template_skipped"]) == ("team", None)
    assert len(renders) == api.auto_reply.RENDERS_PER_MINUTE + 1


def test_a_costly_template_saved_earlier_costs_a_bounded_few_renders_a_minute(
    app: Flask, client: Any, make_team: Any, renders: list[Any], clock: list[float]
) -> None:
    make_team()
    save_template_unchecked(app, "payroll", {"subject": None, "body": LIST_IN_LOOP})
    for n in range(20):
        response = client.get(f"/api/v1/auto-reply?to=payroll@example.com&at=2026-11-24T10:{n:02d}:00Z")
        assert response.status_code == 200
        assert "Payroll" in response.get_data(as_text=True)
    assert len(renders) == api.auto_reply.RENDERS_PER_MINUTE


def test_a_template_shared_by_many_teams_is_tried_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials now include the largest team; an import of a thousand teams with one template must
    not pay for them a thousand times."""
    tried = []
    real = autoreply._render

    def counting(source: str, context: dict[str, Any]) -> str:
        tried.append(source)
        return real(source, context)

    monkeypatch.setattr(autoreply, "_render", counting)
    template = {"subject": None, "body": "Thanks for writing to {{ team_name }} ({{ services|length }} services)."}
    for _ in range(50):
        assert check_template(dict(template)) == {}
    assert len(tried) == 3  # the sample team, a sparse one and the largest one, once
    assert check_template(template, autoreply._SPARSE_FACTS) == {}  # a team's own facts are always tried
    assert len(tried) == 7
