"""The OpenAPI document is valid and complete, and the live API keeps to it (schemathesis)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.conftest import make_app, team_doc

CONTRACT_OPERATIONS = [
    ("get", "/api/v1/teams"), ("post", "/api/v1/teams"), ("get", "/api/v1/teams/{slug}"),
    ("put", "/api/v1/teams/{slug}"), ("patch", "/api/v1/teams/{slug}"), ("delete", "/api/v1/teams/{slug}"),
    ("get", "/api/v1/teams/{slug}/revisions"), ("get", "/api/v1/teams/{slug}/revisions/{number}"),
    ("post", "/api/v1/teams/{slug}/revisions/{number}/restore"), ("get", "/api/v1/search"),
    ("get", "/api/v1/search/suggest"), ("get", "/api/v1/teams/{slug}/status"), ("get", "/api/v1/auto-reply"),
    ("get", "/api/v1/teams/{slug}/auto-reply"), ("get", "/api/v1/departments"),
    ("get", "/api/v1/departments/{slug}/teams"),
]


def test_document_is_valid_openapi_and_covers_the_contract(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    for method, path in CONTRACT_OPERATIONS:
        operation = spec["paths"][path][method]
        assert operation.get("summary") or operation.get("description"), (method, path)
        assert "200" in operation["responses"] or "201" in operation["responses"] or \
            "204" in operation["responses"], (method, path)
    put = spec["paths"]["/api/v1/teams/{slug}"]["put"]["responses"]
    assert {"412", "428", "422"} <= set(put)
    assert "Error" in spec["components"]["schemas"]


def test_docs_pages_use_local_assets(client: Any) -> None:
    for path in ("/api/v1/docs", "/api/v1/redoc"):
        page = client.get(path).get_data(as_text=True)
        assert "/static/vendor/" in page
        assert "https://" not in page.split("<body")[0].replace("https://www.w3.org", "")
        assert "cdn" not in page.lower()


class LiveServer:
    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from directory import accounts, services
    from directory.db import get_session

    tmp: Path = tmp_path_factory.mktemp("live")
    app = make_app(tmp, WTF_CSRF_ENABLED=True)
    with app.app_context():
        session = get_session()
        from directory.schemas import load_team

        services.create_team(session, load_team(team_doc()), services.SYSTEM)
        _t, token = accounts.create_token(session, "schemathesis", "write")
        session.commit()
    server = LiveServer(app)
    yield server.url, token
    server.stop()


@pytest.mark.slow
def test_live_api_keeps_to_its_document(live_api: tuple[str, str]) -> None:
    """Generated requests against every operation of the live server: no server error, and no
    status, header, content type or body that the document does not allow.

    `positive_data_acceptance` is left out: rules the document cannot express (a real time zone,
    intervals that do not overlap, an address no other team holds) rightly refuse some
    schema-valid requests with a documented 422/409.
    """
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    url, token = live_api
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        calls[label] = 0

        def make_check(label: str, operation: Any) -> Any:
            @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                calls[label] += 1
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            return check

        try:
            make_check(label, operation)()
        except BaseException as exc:  # hypothesis raises a group of failures
            failures.append(f"{label}: {str(exc)[:1500]}")
    assert len(calls) >= 16 and all(calls.values()), (calls, failures[:2])
    assert not failures, "\n\n".join(failures)
