"""The REST API under /api/v1, documented by its own OpenAPI document."""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, Response, jsonify, render_template, request
from flask_smorest import Api
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from api.cache import LRUCache
from directory.errors import DirectoryError

API_PREFIX = "/api/v1"

ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 412: "precondition_failed", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 428: "precondition_required",
    429: "too_many_requests", 500: "internal_error",
}


def error_response(status: int, message: str, errors: dict[str, list[str]] | None = None,
                   code: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """The one JSON shape of every API error."""
    body: dict[str, Any] = {"code": code or ERROR_CODES.get(status, "error"), "status": status, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: Any) -> dict[str, list[str]]:
    """webargs nests errors by location ({"json": {...}, "query": {...}}); callers want fields."""
    from directory.schemas import flatten_errors

    if isinstance(messages, dict):
        merged: dict[str, Any] = {}
        for location, errs in messages.items():
            if location in {"json", "query", "headers", "form", "files", "view_args", "path"}:
                if isinstance(errs, dict):
                    merged.update(errs)
                else:
                    merged["_schema"] = errs
            else:
                merged[location] = errs
        return flatten_errors(merged)
    return flatten_errors(messages)


class DirectoryApi(Api):
    """flask-smorest's Api, with the directory's error shape and HTML errors outside /api."""

    from api.common import ErrorSchema as ERROR_SCHEMA

    def handle_http_exception(self, error: HTTPException) -> Any:
        if not request.path.startswith(API_PREFIX):
            from directory.web import render_error

            return render_error(error)
        data = getattr(error, "data", None) or {}
        status = error.code or 500
        errors = None
        if "errors" in data:
            errors = _flatten_webargs(data["errors"])
        elif "messages" in data:
            errors = _flatten_webargs(data["messages"])
        message = data.get("message") or error.description or error.name
        if status == 422 and errors:
            message = "Invalid input: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
        headers = dict(data.get("headers") or {})
        if status == 405 and error.get_response().headers.get("Allow"):
            headers["Allow"] = error.get_response().headers["Allow"]
        if status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="directory"')
        return error_response(status, message, errors, headers=headers)


api = DirectoryApi()


def _directory_error(error: DirectoryError) -> Any:
    if not request.path.startswith(API_PREFIX):
        from directory.web import render_error

        return render_error(error)
    return error_response(error.status, error.message, error.errors or None, code=error.code)


def _stale(error: StaleDataError) -> Any:
    if not request.path.startswith(API_PREFIX):
        from directory.web import render_error

        return render_error(DirectoryError("The team was changed by someone else at the same moment; reload."))
    return error_response(412, "The team was changed by someone else at the same moment; reload and retry.")


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="The directory",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Who helps with what, when they are open and when you will hear back. "
                    "Reads are open unless the server requires sign-in; writes need a bearer token with "
                    "write scope (`directory create-token --scope write`) or a signed-in session with a "
                    "CSRF token. Every error has the shape `{code, status, message, errors?}`."
                ),
            },
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
        },
    )
    # Answers reused while they cannot change: team JSON per version, auto-replies per minute.
    app.extensions["directory_documents"] = LRUCache(2048)
    app.extensions["directory_replies"] = LRUCache(1024)
    api.init_app(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name)})
    app.register_error_handler(DirectoryError, _directory_error)
    app.register_error_handler(StaleDataError, _stale)

    from api import auto_reply, departments, search, teams
    from api import calendar as calendar_api
    from api import performance as performance_api
    from directory.security import csrf

    for blp in (teams.blp, departments.blp, search.blp, auto_reply.blp, performance_api.blp, calendar_api.blp):
        api.register_blueprint(blp, url_prefix=API_PREFIX)
        # Token requests carry no cookies to forge; session writes are checked in `require_writer`.
        csrf.exempt(blp)

    from api import feedback as feedback_api  # ratings and "How did we do?" links (CONTRACT §4)

    api.register_blueprint(feedback_api.blp, url_prefix=API_PREFIX)
    csrf.exempt(feedback_api.blp)  # session writes are checked in `require_writer`

    from api import recognition as recognition_api  # read-only: recognition and survey results

    api.register_blueprint(recognition_api.blp, url_prefix=API_PREFIX)

    @app.route(f"{API_PREFIX}/docs")
    def api_docs() -> str:
        return render_template("api_docs.html")

    @app.route(f"{API_PREFIX}/redoc")
    def api_redoc() -> str:
        return render_template("api_redoc.html")


def _schema_name(schema: Any) -> str:
    """Component names: TeamSchema -> Team, and its partial form (PATCH) -> TeamPatch."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema")
    if getattr(schema, "partial", False):
        name += "Patch"
    return name
