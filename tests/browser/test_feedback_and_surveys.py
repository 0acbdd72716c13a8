"""Feedback and surveys in a real browser: a colleague's concern reaches a team's owner without its
author's name and the owner's reply reaches the author; an administrator runs a survey round in
which a colleague rates a team (a second answer replaces the first) before the round is closed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser

FEEDBACK_TEAM = "catering"  # kept by george.patel@example.com; no other browser test rates it
FEEDBACK_OWNER = "george.patel@example.com"
AUTHOR = "jasmine.nguyen@example.com"  # owns neither team below
AUTHOR_NAME = "Jasmine Nguyen"

SURVEY_TEAM = "mailroom"  # kept by george.patel@example.com; no other browser test surveys it
SURVEY_TEAM_NAME = "Mailroom & Post"
RATER = "nora.lindqvist@example.com"
ADMIN = "admin@example.com"


def test_a_concern_reaches_the_owner_without_its_author_and_the_reply_comes_back(
        live_server: Any, page: Any, log_in: Callable[..., None], new_context: Callable[..., Any],
        watched: Callable[[Any], list[str]], shoot: Callable[..., Any]) -> None:
    concern = f"The lunch order for our offsite never arrived ({time.time_ns()})"
    reply = f"Sorry: the order was lost between two caterers, we now confirm by phone ({time.time_ns()})"

    log_in(page, AUTHOR)
    page.goto(live_server(f"/teams/{FEEDBACK_TEAM}"))
    form = page.locator("#feedback-form")
    form.get_by_role("radio", name="1 (poor)").check()
    form.get_by_label("Comment (optional)").fill(concern)
    form.get_by_label("This is a complaint: I want the owners to follow it up").check()
    form.get_by_role("button", name="Send feedback").click()
    page.wait_for_url(live_server("/me/feedback"))
    assert "Your concern went to the team's owners" in page.locator(".flashes").inner_text()
    mine = page.locator(".my-feedback__item", has_text=concern)
    assert mine.count() == 1
    assert "1 out of 5" in mine.inner_text()
    assert mine.locator(".pill").inner_text() == "open"

    owner = new_context().new_page()
    problems = watched(owner)
    log_in(owner, FEEDBACK_OWNER)
    owner.goto(live_server(f"/teams/{FEEDBACK_TEAM}"))
    owner.get_by_role("link", name="Read feedback and follow-ups").click()
    owner.wait_for_url(live_server(f"/teams/{FEEDBACK_TEAM}/feedback/inbox"))
    item = owner.locator("#follow-ups .follow-up", has_text=concern)
    assert item.count() == 1
    assert item.get_by_text(concern).is_visible()
    assert "complaint" in item.inner_text()
    assert item.locator(".pill").inner_text() == "open"
    body = owner.locator("body").inner_text()
    html = owner.content()
    for trace in (AUTHOR, AUTHOR_NAME, "jasmine"):
        assert trace.lower() not in body.lower(), f"{trace!r} is shown on the owners' inbox"
        assert trace.lower() not in html.lower(), f"{trace!r} is in the owners' inbox page"

    item.get_by_role("button", name="Acknowledge").click()
    owner.wait_for_url(re.compile(re.escape(live_server(f"/teams/{FEEDBACK_TEAM}/feedback/inbox"))))
    assert "The follow-up was updated" in owner.locator(".flashes").inner_text()
    item = owner.locator("#follow-ups .follow-up", has_text=concern)
    assert item.locator(".pill").inner_text() == "acknowledged"
    item.get_by_label("Reply to the author (they read it on their feedback page)").fill(reply)
    item.get_by_role("button", name="Send reply").click()
    owner.wait_for_url(re.compile(re.escape(live_server(f"/teams/{FEEDBACK_TEAM}/feedback/inbox"))))
    assert "The follow-up was updated" in owner.locator(".flashes").inner_text()
    item = owner.locator("#follow-ups .follow-up", has_text=concern)
    assert f"Your reply: {reply}" in item.inner_text()
    assert item.locator(".pill").inner_text() == "replied"
    assert AUTHOR.lower() not in owner.content().lower()
    shoot(owner, "feedback-inbox.png")
    assert not problems, problems

    page.goto(live_server("/me/feedback"))
    mine = page.locator(".my-feedback__item", has_text=concern)
    assert mine.count() == 1
    assert mine.get_by_text(f"The team replied: {reply}").is_visible()
    assert mine.locator(".pill").inner_text() == "replied"
    shoot(page, "my-feedback.png")


def _survey_row(tab: Any) -> Any:
    return tab.locator("#team-results tbody tr", has=tab.get_by_role("rowheader", name=SURVEY_TEAM_NAME, exact=True))


def test_a_survey_round_takes_one_answer_per_team_until_it_closes(
        live_server: Any, page: Any, log_in: Callable[..., None], new_context: Callable[..., Any],
        watched: Callable[[Any], list[str]], shoot: Callable[..., Any]) -> None:
    title = f"Browser test round {time.time_ns()}"

    log_in(page, ADMIN)
    page.goto(live_server("/admin/surveys"))
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Open the round").click()
    page.wait_for_url(live_server("/admin/surveys"))
    assert f"The round '{title}' is open" in page.locator(".flashes").inner_text()
    row = page.get_by_role("row", name=re.compile(re.escape(title)))
    assert row.get_by_text("open", exact=True).is_visible()

    rater = new_context().new_page()
    problems = watched(rater)
    log_in(rater, RATER)
    rater.goto(live_server("/surveys"))
    assert rater.get_by_role("heading", name=title).is_visible()
    rater.get_by_label("Find another team to rate").fill("mailr")
    rater.get_by_role("button", name="Find", exact=True).click()
    rater.wait_for_url(re.compile(r"/surveys\?q=mailr"))
    team = rater.locator(f"#team-{SURVEY_TEAM}")
    assert team.get_by_role("link", name=SURVEY_TEAM_NAME).is_visible()
    for label, value in (("Responsiveness", "4"), ("Clarity", "3"), ("Helpfulness", "5")):
        team.get_by_role("group", name=re.compile(f"^{label}")).get_by_label(value, exact=True).check()
    team.get_by_role("button", name=f"Rate {SURVEY_TEAM_NAME}").click()
    rater.wait_for_url(re.compile(r"/surveys(#team-mailroom)?$"))
    flash = rater.locator(".flashes").inner_text()
    assert f"your ratings of {SURVEY_TEAM_NAME} are saved" in flash

    team = rater.locator(f"#team-{SURVEY_TEAM}")  # now listed among the teams answered
    assert team.get_by_text("answered", exact=True).is_visible()
    clarity = team.get_by_role("group", name=re.compile("^Clarity"))
    assert clarity.get_by_label("3", exact=True).is_checked()
    clarity.get_by_label("2", exact=True).check()
    team.get_by_role("button", name=f"Save {SURVEY_TEAM_NAME}").click()
    rater.wait_for_url(re.compile(r"/surveys(#team-mailroom)?$"))
    assert f"your ratings of {SURVEY_TEAM_NAME} are saved" in rater.locator(".flashes").inner_text()
    team = rater.locator(f"#team-{SURVEY_TEAM}")
    assert rater.locator(f"#team-{SURVEY_TEAM}").count() == 1
    assert team.get_by_role("group", name=re.compile("^Clarity")).get_by_label("2", exact=True).is_checked()
    assert team.get_by_role("group", name=re.compile("^Responsiveness")).get_by_label("4", exact=True).is_checked()
    shoot(rater, "survey-answered.png")

    rater.get_by_role("link", name="Results so far").click()
    result = _survey_row(rater)
    assert result.count() == 1
    assert result.locator("td").nth(1).inner_text().strip() == "1"  # one person, one answer
    assert not problems, problems

    page.goto(live_server("/admin/surveys"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row", name=re.compile(re.escape(title))).get_by_role("button", name=f"Close {title}").click()
    page.wait_for_url(live_server("/admin/surveys"))
    assert f"The round '{title}' is closed." in page.locator(".flashes").inner_text()
    assert page.get_by_role("row", name=re.compile(re.escape(title))).get_by_text("open", exact=True).count() == 0

    rater.goto(live_server("/surveys"))
    assert rater.get_by_text("No survey round is open at the moment.").is_visible()
    assert rater.get_by_role("link", name=title).is_visible()  # among the earlier rounds
