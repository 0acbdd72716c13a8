"""api.common: what every resource shares: body checks, If-Match rules, time arguments and page links."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Page
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import HTTPException

from api.common import (
    MAX_JSON_DEPTH,
    AtArgsSchema,
    Blueprint,
    check_json_body,
    json_depth,
    refuse_wildcard_if_match,
    require_read,
    require_writer,
    resolve_at,
    site_url,
)


def refused(call: Any) -> tuple[int, str]:
    """The status and message of the abort that `call` raises."""
    with pytest.raises(HTTPException) as caught:
        call()
    data = getattr(caught.value, "data", {}) or {}
    return caught.value.code or 0, str(data.get("message", ""))


@pytest.fixture(scope="module")
def bare_app() -> Flask:
    """The smallest app that reads the settings these helpers use: no database, no index."""
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=1024, SITE_URL="", TESTING=True)
    return app


@pytest.mark.parametrize(("document", "depth"), [
    (None, 0), ("text", 0), (7, 0), ({}, 1), ([], 1), ({"a": [1, 2]}, 2), ([[[]]], 3),
    ({"a": {"b": 1}, "c": [[{"d": []}]]}, 5),
])
def test_json_depth(document: Any, depth: int) -> None:
    assert json_depth(document) == depth


def test_json_depth_measures_nesting_deeper_than_pythons_recursion_limit() -> None:
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    assert json_depth(deep) == 50_001


@pytest.mark.parametrize(("body", "content_type", "status", "says"), [
    ("hello", "text/plain", 415, "not text/plain"),
    ("{}", "", 415, "not an unnamed type"),
    ("{not json", "application/json", 400, "not valid JSON"),
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "application/json", 400, "nested too deeply"),
    ("[" * 1000, "application/json", 400, "nested too deeply"),  # beyond the parser's own recursion
    ("x" * 2000, "application/json", 413, "larger than the 1024 bytes"),
])
def test_bodies_that_are_not_json_documents_are_refused(bare_app: Flask, body: str, content_type: str, status: int,
                                                        says: str) -> None:
    with bare_app.test_request_context("/", method="POST", data=body, content_type=content_type or None):
        code, message = refused(check_json_body)
    assert code == status and says in message


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json",
                                          "application/vnd.directory+json"])
def test_json_bodies_and_requests_without_a_body_pass(bare_app: Flask, content_type: str) -> None:
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    with bare_app.test_request_context("/", method="PATCH", data=nested, content_type=content_type):
        check_json_body()
    with bare_app.test_request_context("/", method="POST"):
        check_json_body()
    with bare_app.test_request_context("/", method="GET", data="not json", content_type="text/plain"):
        check_json_body()  # reads carry no document to check


def test_if_match_star_is_refused_and_a_named_version_is_not(bare_app: Flask) -> None:
    with bare_app.test_request_context("/", method="PUT", headers={"If-Match": "*"}):
        code, message = refused(refuse_wildcard_if_match)
    assert code == 428 and "If-Match: * is not accepted" in message
    with bare_app.test_request_context("/", method="PUT", headers={"If-Match": '"abc"'}):
        refuse_wildcard_if_match()
    with bare_app.test_request_context("/", method="PUT"):
        refuse_wildcard_if_match()


def test_an_action_honours_if_match_when_it_is_sent(bare_app: Flask) -> None:
    blp = Blueprint("actions", __name__)
    version = {"slug": "payroll", "version": 3}
    etag = blp._generate_etag(version)
    with bare_app.test_request_context("/", method="POST"):
        blp.check_if_match(version)  # optional on actions
    with bare_app.test_request_context("/", method="POST", headers={"If-Match": f'"{etag}"'}):
        blp.check_if_match(version)
    with bare_app.test_request_context("/", method="POST", headers={"If-Match": '"someone-elses"'}):
        code, message = refused(lambda: blp.check_if_match(version))
    assert code == 412 and "changed since you read it" in message
    with bare_app.test_request_context("/", method="POST", headers={"If-Match": "*"}):
        assert refused(lambda: blp.check_if_match(version))[0] == 428


def test_instants_and_zones_are_read_or_refused_naming_the_argument() -> None:
    schema = AtArgsSchema()
    loaded = schema.load({"at": "2026-11-24T09:30:00+01:00", "tz": " America/New_York "})
    assert loaded["at"] == datetime(2026, 11, 24, 8, 30, tzinfo=UTC) and loaded["tz"] == "America/New_York"
    assert schema.load({"at": "2026-11-24T09:30"})["at"].tzinfo is None  # the team's own zone, later
    for given, field, says in [({"at": "tomorrow"}, "at", "is not an ISO 8601 date-time"),
                               ({"at": "0001-01-01T00:00:00Z"}, "at", "years"),
                               ({"at": "2026-11-24\x00"}, "at", "NUL"),
                               ({"tz": "Mars/Olympus"}, "tz", ""),
                               ({"tz": "../../etc/passwd"}, "tz", "")]:
        with pytest.raises(ValidationError) as caught:
            schema.load(given)
        assert list(caught.value.messages) == [field], given
        assert says in json.dumps(caught.value.messages[field], ensure_ascii=False), caught.value.messages


def test_resolve_at_reads_a_naive_instant_in_the_teams_zone() -> None:
    naive = datetime(2026, 7, 1, 9, 30)
    assert resolve_at(naive, "Europe/London") == datetime(2026, 7, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    assert resolve_at(naive, "Europe/London").astimezone(UTC).hour == 8
    aware = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert resolve_at(aware, "Asia/Tokyo") is aware
    now = resolve_at(None, "Asia/Tokyo")
    assert now.tzinfo is UTC and abs(datetime.now(UTC) - now) < timedelta(seconds=5)


def test_site_url_prefers_the_configured_one(bare_app: Flask) -> None:
    with bare_app.test_request_context("/x", base_url="http://directory.internal:8000/"):
        assert site_url() == "http://directory.internal:8000"
    bare_app.config["SITE_URL"] = "https://directory.example"
    try:
        with bare_app.test_request_context("/x", base_url="http://directory.internal:8000/"):
            assert site_url() == "https://directory.example"
    finally:
        bare_app.config["SITE_URL"] = ""


def test_reads_need_a_reader_only_when_the_directory_requires_sign_in(app: Flask) -> None:
    with app.test_request_context("/api/v1/teams"):
        require_read()
    app.config["DIRECTORY_REQUIRE_LOGIN"] = True
    with app.test_request_context("/api/v1/teams"):
        code, message = refused(require_read)
    assert code == 401 and "Sign in or send a bearer token" in message


def test_writes_need_someone_to_act(app: Flask) -> None:
    with app.test_request_context("/api/v1/teams", method="POST"):
        code, message = refused(require_writer)
    assert code == 401 and "write scope" in message


class ItemSchema(Schema):
    n = fields.Integer()


@pytest.fixture(scope="module")
def paged_app() -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3", TESTING=True)
    api = Api(app)
    blp = Blueprint("items", __name__, url_prefix="/items")

    @blp.route("")
    class Items(MethodView):
        @blp.response(200, ItemSchema(many=True))
        @blp.paginate(Page)
        def get(self) -> list[dict[str, int]]:
            return [{"n": n} for n in range(45)]

    api.register_blueprint(blp)
    yield app


def links(header: str) -> dict[str, dict[str, list[str]]]:
    found = {}
    for part in header.split(", "):
        target, rel = part.split("; ")
        found[rel.removeprefix('rel="').removesuffix('"')] = parse_qs(urlsplit(target.strip("<>")).query)
    return found


def test_pages_link_to_first_prev_next_and_last_keeping_the_query(paged_app: Flask) -> None:
    response = paged_app.test_client().get("/items?page=2&page_size=10&q=a%20b%26c")
    assert [item["n"] for item in response.json] == list(range(10, 20))
    found = links(response.headers["Link"])
    assert {rel: (args["page"], args["page_size"]) for rel, args in found.items()} == {
        "first": (["1"], ["10"]), "prev": (["1"], ["10"]), "next": (["3"], ["10"]), "last": (["5"], ["10"])}
    assert all(args["q"] == ["a b&c"] for args in found.values())
    assert response.headers["Link"].startswith("<http://localhost/items?")


def test_the_first_page_has_no_prev_link_and_a_single_page_only_first_and_last(paged_app: Flask) -> None:
    client = paged_app.test_client()
    assert set(links(client.get("/items?page_size=10").headers["Link"])) == {"first", "next", "last"}
    assert set(links(client.get("/items?page_size=100").headers["Link"])) == {"first", "last"}


def test_the_pagination_headers_are_documented_as_strings(paged_app: Flask) -> None:
    spec = paged_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    headers = spec["paths"]["/items"]["get"]["responses"]["200"]["headers"]
    assert headers["X-Pagination"]["schema"] == {"type": "string"}
    assert "first_page" in headers["X-Pagination"]["description"]
    assert headers["Link"]["schema"] == {"type": "string"} and "RFC 8288" in headers["Link"]["description"]
