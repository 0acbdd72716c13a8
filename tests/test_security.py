"""directory.security: every response carries the strict policy and safe headers; forms need a CSRF token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient

from directory.security import CSP, DOCS_CSP
from tests.conftest import get_db_engine, make_app

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """One app for the read-only checks below: building an app per test would cost most of the run."""
    app = make_app(tmp_path_factory.mktemp("security"))
    yield app.test_client()
    get_db_engine(app).dispose()


def directives(policy: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        found[name] = set(values)
    return found


def test_the_policy_allows_nothing_inline_or_foreign() -> None:
    policy = directives(CSP)
    assert policy["default-src"] == {"'self'"} and policy["script-src"] == {"'self'"}
    assert policy["style-src"] == {"'self'"} and policy["frame-ancestors"] == {"'none'"}
    assert policy["object-src"] == {"'none'"} and policy["base-uri"] == {"'none'"}
    assert policy["form-action"] == {"'self'"}
    assert not any("unsafe" in v or v == "*" for values in policy.values() for v in values)


def test_the_docs_policy_loosens_only_what_swagger_ui_and_redoc_need() -> None:
    strict, docs = directives(CSP), directives(DOCS_CSP)
    assert docs["style-src"] == {"'self'", "'unsafe-inline'"}
    assert docs["script-src"] == {"'self'", "blob:"}
    assert docs["img-src"] == {"'self'", "data:", "blob:"}
    loosened = {"style-src", "script-src", "img-src"}
    assert {k: v for k, v in docs.items() if k not in loosened} == {k: v for k, v in strict.items() if k not in loosened}
    assert "'unsafe-eval'" not in DOCS_CSP


@pytest.mark.parametrize("path", ["/", "/teams", "/api/v1/teams", "/api/v1/openapi.json", "/no-such-page",
                                  "/static/no-such-file.css"])
def test_every_response_has_the_strict_policy_and_safe_headers(shared_client: FlaskClient, path: str) -> None:
    response = shared_client.get(path)
    assert response.headers["Content-Security-Policy"] == CSP
    for name, value in SAFE_HEADERS.items():
        assert response.headers[name] == value, name


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/redoc"])
def test_the_api_docs_get_the_docs_policy(shared_client: FlaskClient, path: str) -> None:
    response = shared_client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == DOCS_CSP
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_view_that_sets_its_own_header_keeps_it(app: Flask) -> None:
    @app.route("/_framed")
    def framed() -> Response:
        return Response("x", headers={"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": "sandbox"})

    response = app.test_client().get("/_framed")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_form_posted_without_its_csrf_token_is_refused(shared_client: FlaskClient) -> None:
    response = shared_client.post("/login", data={"email": "a@example.com", "password": "whatever"})
    assert response.status_code == 400
    assert response.headers["Content-Security-Policy"] == CSP
