"""The API's side of the template budget: a costly template is refused with a 422 when saved, and
a team's template renders at most a few times per team and minute whatever the request varies.

Renders are counted, never timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm.attributes import flag_modified

import api.auto_reply
from directory import services
from directory.db import get_session
from tests.autoreply.test_sandbox import LIST_IN_LOOP, SPREAD_CYCLE


def test_the_api_refuses_it_with_a_422_naming_the_field(client: Any, make_team: Any,
                                                        auth_headers: dict[str, str]) -> None:
    make_team()
    etag = client.get("/api/v1/teams/payroll").headers["ETag"]
    response = client.patch("/api/v1/teams/payroll", json={"auto_reply": {"subject": None, "body": SPREAD_CYCLE}},
                            headers={**auth_headers, "If-Match": etag})
    assert response.status_code == 422
    assert "at most 32 arguments" in " ".join(response.json["errors"]["auto_reply.body"])


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
