"""The REST API under /api/v1, documented by its own OpenAPI document."""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, render_template
from flask_smorest import Api

from api.cache import LRUCache

API_PREFIX = "/api/v1"


class DirectoryApi(Api):
    """flask-smorest's Api, documenting the directory's error shape.

    It registers no error handler of its own: the app factory sends errors on API paths to
    `api.errors.respond` and every other path to the error pages.
    """

    from api.common import ErrorSchema as ERROR_SCHEMA

    def _register_error_handlers(self) -> None:
        """Left to the app factory, which knows both the API's paths and the pages'."""


api = DirectoryApi()


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
