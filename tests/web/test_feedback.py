"""The feedback pages: the team page's section, the "How did we do?" link, the owners' inbox, the
author's own page and the admins' audit, through the test client with real CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from directory import feedback
from directory.db import get_session
from directory.models import Feedback, FeedbackFollowUp, Team, utcnow
from tests.web.conftest import FormReader, csrf_token, sign_in

TEAM = "/teams/payroll"


@pytest.fixture
def team(make_team: Callable[..., Any]) -> dict[str, Any]:
    return make_team()


def feedback_rows(app: Flask) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Feedback)) or 0


def signed_link(app: Flask, request_id: str, **extra: Any) -> str:
    with app.app_context():
        team_id = get_session().scalar(select(Team.id).where(Team.slug == "payroll"))
    sig = feedback.link_signature(app.config["SECRET_KEY"], team_id, request_id)
    return f"{TEAM}/feedback?" + urlencode({"r": request_id, "sig": sig, **extra})


def give(client: FlaskClient, **form: Any) -> Any:
    token = csrf_token(client, f"{TEAM}/feedback")
    return client.post(f"{TEAM}/feedback", data={"csrf_token": token, **form})


def rate_as(app: Flask, who: str, rating: int, **form: Any) -> None:
    client = app.test_client()
    sign_in(client, app, who)
    response = give(client, rating=str(rating), **form)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]


def test_the_link_opens_a_confirmation_and_a_get_writes_nothing(app: Flask, client: FlaskClient, team: Any) -> None:
    link = signed_link(app, "T-7", rating=4)
    assert client.get(link).status_code == 302  # anonymous: sign in first, then come back
    assert "Sign in to rate this team" in client.get(TEAM).get_data(as_text=True)
    sign_in(client, app, "bob@example.com")
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="4" checked' in html and 'name="r" value="T-7"' in html
    assert feedback_rows(app) == 0
    token = csrf_token(client, link)
    sig = re.search(r'name="sig" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
    saved = client.post(f"{TEAM}/feedback", data={"csrf_token": token, "rating": "4", "r": "T-7", "sig": sig})
    assert saved.status_code == 302 and feedback_rows(app) == 1
    with app.app_context():
        assert get_session().scalar(select(Feedback.request_id)) == "T-7"


@pytest.mark.parametrize("tamper", ["request", "signature", "missing"])
def test_a_tampered_link_is_refused_and_nothing_written(app: Flask, client: FlaskClient, team: Any, tamper: str) -> None:
    sign_in(client, app, "bob@example.com")
    link = signed_link(app, "T-7", rating=1)
    if tamper == "request":
        link = link.replace("r=T-7", "r=T-8")
    elif tamper == "signature":
        link = re.sub(r"sig=([0-9a-f])", lambda m: "sig=" + ("0" if m.group(1) != "0" else "1"), link)
    else:
        link = re.sub(r"&?sig=[0-9a-f]+", "", link)
    assert client.get(link).status_code == 403
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    posted = client.post(f"{TEAM}/feedback", data={"csrf_token": csrf_token(client, TEAM), "rating": "1",
                                                    "r": query["r"], "sig": query.get("sig", "")})
    assert posted.status_code == 403 and feedback_rows(app) == 0


def test_the_form_needs_its_csrf_token_and_a_rating_from_1_to_5(app: Flask, client: FlaskClient, team: Any) -> None:
    sign_in(client, app, "bob@example.com")
    assert client.post(f"{TEAM}/feedback", data={"rating": "4"}).status_code == 400
    refused = give(client, rating="7", comment="kept")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="rating-error"' in html and ">kept</textarea>" in html
    assert give(client, comment="no rating").status_code == 422
    assert feedback_rows(app) == 0


def test_owners_cannot_rate_their_own_team(app: Flask, client: FlaskClient, team: Any) -> None:
    sign_in(client, app, "alice@example.com")
    assert client.get(f"{TEAM}/feedback").status_code == 403
    assert 'id="feedback-form"' not in client.get(TEAM).get_data(as_text=True)
    posted = client.post(f"{TEAM}/feedback", data={"csrf_token": csrf_token(client, TEAM), "rating": "5"})
    assert posted.status_code == 403 and feedback_rows(app) == 0


def test_the_eleventh_write_within_the_hour_is_refused(app: Flask, client: FlaskClient, team: Any) -> None:
    sign_in(client, app, "bob@example.com")
    for _ in range(10):
        assert give(client, rating="4").status_code == 302
    refused = give(client, rating="4")
    assert refused.status_code == 429 and "within the hour" in refused.get_data(as_text=True)
    assert feedback_rows(app) == 10


def test_team_page_shows_figures_from_five_people_and_never_their_names(app: Flask, client: FlaskClient,
                                                                         team: Any) -> None:
    for n, rating in enumerate([5, 4, 4, 3]):
        rate_as(app, f"secretrater{n}@example.com", rating, comment=f"note {n}")
    html = client.get(TEAM).get_data(as_text=True)
    assert "at least 5 different people" in html and "<svg" not in html and "out of 5</strong>" not in html
    rate_as(app, "secretrater4@example.com", 2)
    html = client.get(TEAM).get_data(as_text=True)
    assert "3.6 out of 5" in html and "<svg" in html and "4 out of 5: 2" in html  # the chart says its numbers
    sign_in(client, app, "alice@example.com")  # the owner's own views
    pages = [client.get(TEAM), client.get(f"{TEAM}/feedback/inbox")]
    assert all(page.status_code == 200 for page in pages)
    assert "note 0" in pages[1].get_data(as_text=True)
    for page in pages:
        assert "secretrater" not in page.get_data(as_text=True).lower()


def test_a_signed_comment_carries_its_authors_name(app: Flask, client: FlaskClient, team: Any) -> None:
    rate_as(app, "carol@example.com", 4, comment="Happy to be named", signed="1")
    rate_as(app, "dave@example.com", 4, comment="Keep me out of it")
    sign_in(client, app, "alice@example.com")
    html = client.get(f"{TEAM}/feedback/inbox").get_data(as_text=True)
    assert "Happy to be named" in html and "Carol" in html
    assert "Keep me out of it" in html and "Dave" not in html and "dave@" not in html


def test_concern_lifecycle_through_the_pages(app: Flask, client: FlaskClient, team: Any) -> None:
    author = app.test_client()
    sign_in(author, app, "bob@example.com")
    sent = give(author, rating="1", comment="My claim was lost")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/me/feedback")
    mine = author.get("/me/feedback").get_data(as_text=True)
    assert "My claim was lost" in mine and ">open<" in mine and "Overdue" not in mine
    with app.app_context():
        follow_up_id = get_session().scalar(select(FeedbackFollowUp.id))
    url = f"{TEAM}/feedback/follow-ups/{follow_up_id}"
    assert author.post(url, data={"csrf_token": csrf_token(author, TEAM), "action": "resolve"}).status_code == 403
    sign_in(client, app, "alice@example.com")
    inbox = f"{TEAM}/feedback/inbox"
    assert client.post(url, data={"csrf_token": csrf_token(client, inbox), "action": "acknowledge"}).status_code == 302
    with app.app_context():  # a week passes without a reply
        session = get_session()
        session.execute(update(FeedbackFollowUp).values(due_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    mine = author.get("/me/feedback").get_data(as_text=True)
    assert ">acknowledged<" in mine and "Overdue" in mine and "Ask for the Payroll manager" in mine
    assert "Overdue" in client.get(inbox).get_data(as_text=True)
    unsaid = client.post(url, data={"csrf_token": csrf_token(client, inbox), "action": "reply", "message": " "})
    assert unsaid.status_code == 422 and f'id="reply-{follow_up_id}-error"' in unsaid.get_data(as_text=True)
    replied = client.post(url, data={"csrf_token": csrf_token(client, inbox), "action": "reply",
                                     "message": "Found it; paid on Friday."})
    assert replied.status_code == 302
    mine = author.get("/me/feedback").get_data(as_text=True)
    assert "Found it; paid on Friday." in mine and ">replied<" in mine and "Overdue" not in mine
    assert client.post(url, data={"csrf_token": csrf_token(client, inbox), "action": "resolve"}).status_code == 302
    assert ">resolved<" in author.get("/me/feedback").get_data(as_text=True)
    again = client.post(url, data={"csrf_token": csrf_token(client, inbox), "action": "acknowledge"})
    assert again.status_code == 409


def test_you_said_we_did_is_published_on_the_team_page(app: Flask, client: FlaskClient, team: Any) -> None:
    sign_in(client, app, "alice@example.com")
    token = csrf_token(client, f"{TEAM}/feedback/inbox")
    empty = client.post(f"{TEAM}/feedback/answers", data={"csrf_token": token, "said": "", "did": "Typed this"})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and 'id="answer-said-error"' in html and ">Typed this</textarea>" in html
    posted = client.post(f"{TEAM}/feedback/answers", data={
        "csrf_token": token, "said": "Payslips arrive late", "did": "We now send them on the 23rd"})
    assert posted.status_code == 302
    html = app.test_client().get(TEAM).get_data(as_text=True)
    assert "You said, we did" in html and "We now send them on the 23rd" in html
    bob = app.test_client()
    sign_in(bob, app, "bob@example.com")
    assert bob.post(f"{TEAM}/feedback/answers", data={"csrf_token": csrf_token(bob, TEAM), "said": "a",
                                                       "did": "b"}).status_code == 403
    assert bob.get(f"{TEAM}/feedback/inbox").status_code == 403


def test_admins_see_who_wrote_but_not_what(app: Flask, client: FlaskClient, team: Any) -> None:
    rate_as(app, "bob@example.com", 1, comment="Very unhappy indeed")
    sign_in(client, app, "admin@example.com", is_admin=True)
    html = client.get("/admin/feedback").get_data(as_text=True)
    assert "bob@example.com" in html and "feedback.give" in html
    assert "Very unhappy" not in html and "1 out of 5" not in html
    bob = app.test_client()
    sign_in(bob, app, "bob@example.com")
    assert bob.get("/admin/feedback").status_code == 403


def test_the_team_pages_own_form_saves_a_rating(app: Flask, client: FlaskClient, team: Any) -> None:
    sign_in(client, app, "bob@example.com")
    reader = FormReader(form_id="feedback-form")
    reader.feed(client.get(TEAM).get_data(as_text=True))
    assert "csrf_token" in reader.fields and "rating" not in reader.fields  # nothing chosen for you
    sent = client.post(f"{TEAM}/feedback", data={**reader.fields, "rating": "5", "comment": "Thanks!"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(TEAM)
    with app.app_context():
        assert get_session().execute(select(Feedback.rating, Feedback.comment)).all() == [(5, "Thanks!")]
