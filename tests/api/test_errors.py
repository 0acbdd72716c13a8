"""`api.errors`: each domain error answers as the kind it descends from; the domain carries no HTTP."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from flask import Flask

import directory
from api.errors import DOMAIN_ERRORS, domain_error, status_and_code
from directory.accounts import InvalidAccount, TooManyAttempts
from directory.errors import Conflict, DirectoryError, Forbidden, InvalidTeam, StaleVersion
from directory.feedback import InvalidFeedback, TooMuchFeedback
from directory.holiday_calendars import UnknownHolidayCalendar
from directory.kudos import TooManyKudos
from directory.services import SlugMoved
from directory.web.errors import PAGE_STATUS, status_of


def every_domain_error() -> list[type[DirectoryError]]:
    for module in pkgutil.walk_packages(directory.__path__, "directory."):
        importlib.import_module(module.name)
    found, todo = [], [DirectoryError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


@pytest.mark.parametrize(("error", "status", "code"), [
    (DirectoryError("x"), 400, "bad_request"),
    (Forbidden("x"), 403, "forbidden"),
    (SlugMoved("old", "new"), 404, "not_found"),
    (Conflict("x"), 409, "conflict"),
    (StaleVersion("x"), 412, "precondition_failed"),
    (InvalidTeam("x"), 422, "validation_error"),
    (UnknownHolidayCalendar("x"), 422, "validation_error"),
    (InvalidFeedback("x"), 422, "validation_error"),
    (InvalidAccount("x"), 422, "validation_error"),
    (TooManyAttempts(90), 429, "too_many_requests"),
    (TooManyKudos(3600), 429, "too_many_requests"),
])
def test_an_error_answers_as_its_nearest_kind(error: DirectoryError, status: int, code: str) -> None:
    assert status_and_code(error) == (status, code)
    assert status_of(error) == status  # the pages answer with the same status


def test_the_domain_carries_no_http_and_every_error_has_an_answer() -> None:
    kinds = every_domain_error()
    assert len(kinds) > 15
    for kind in kinds:
        assert not hasattr(kind, "status") and not hasattr(kind, "code"), kind
    assert {k: s for k, (s, _code) in DOMAIN_ERRORS.items()} == PAGE_STATUS


def test_the_body_has_the_contract_shape_and_a_retry_after(app: Flask) -> None:
    with app.test_request_context("/api/v1/teams/payroll/feedback", method="POST"):
        response: Any = domain_error(TooMuchFeedback(125))
        assert response.status_code == 429 and response.headers["Retry-After"] == "125"
        assert response.json == {"code": "too_many_requests", "status": 429,
                                 "message": response.json["message"]}
        response = domain_error(InvalidTeam("Bad.", {"name": ["required"]}))
        assert response.json == {"code": "validation_error", "status": 422, "message": "Bad.",
                                 "errors": {"name": ["required"]}}


def test_errors_answer_in_the_language_of_the_path(client: Any) -> None:
    api = client.get("/api/v1/teams/nope")
    assert api.status_code == 404 and api.json["code"] == "not_found"
    assert client.get("/api/v1/nothing-here").json == {
        "code": "not_found", "status": 404, "message": client.get("/api/v1/nothing-here").json["message"]}
    page = client.get("/teams/nope")
    assert page.status_code == 404 and page.mimetype == "text/html" and "Page not found" in page.get_data(as_text=True)
    assert client.delete("/api/v1/teams").json["code"] == "method_not_allowed"
    assert client.put("/teams").mimetype == "text/html"
