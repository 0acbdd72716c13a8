"""How the API answers an error: always the JSON shape `{code, status, message, errors?}`.

The domain's errors carry no HTTP status; `DOMAIN_ERRORS` gives each kind its status and code, once,
looked up along the exception's class hierarchy, so a module's own error (say `TooMuchFeedback`, a
`Throttled`) answers as the kind it is. The app factory sends errors on API paths here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from directory.errors import Conflict, DirectoryError, Forbidden, Invalid, NotFound, StaleVersion, Throttled
from directory.services import SlugMoved

ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 412: "precondition_failed", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 428: "precondition_required",
    429: "too_many_requests", 500: "internal_error",
}

DOMAIN_ERRORS: dict[type[DirectoryError], tuple[int, str]] = {
    DirectoryError: (400, "bad_request"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    StaleVersion: (412, "precondition_failed"),
    Invalid: (422, "validation_error"),
    Throttled: (429, "too_many_requests"),
}


def status_and_code(error: DirectoryError) -> tuple[int, str]:
    """The answer of the nearest kind in the error's class hierarchy."""
    for kind in type(error).__mro__:
        if kind in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[kind]
    raise TypeError(f"{type(error).__name__} is not a DirectoryError")


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


def respond(error: HTTPException | DirectoryError) -> Response:
    """The answer to any error raised while serving an API path."""
    if isinstance(error, DirectoryError):
        return domain_error(error)
    return http_error(error)


def domain_error(error: DirectoryError) -> Response:
    if isinstance(error, SlugMoved):
        moved = _moved(error)
        if moved is not None:
            return moved
    status, code = status_and_code(error)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Throttled) else None
    return error_response(status, error.message, error.errors or None, code=code, headers=headers)


def _moved(error: SlugMoved) -> Response | None:
    """An old slug in the path answers 308 (method and body kept, so writes work too) to the same
    resource under the team's current slug; an old slug met elsewhere is just not found."""
    view_args = dict(request.view_args or {})
    if request.endpoint is None or view_args.get("slug") != error.old:
        return None
    view_args["slug"] = error.slug
    location = url_for(request.endpoint, **view_args)
    if request.query_string:
        location += "?" + request.query_string.decode("latin-1")
    return error_response(308, error.message, code="moved_permanently", headers={"Location": location})


def http_error(error: HTTPException) -> Response:
    """werkzeug's and flask-smorest's errors (webargs' 422 included) in the directory's shape."""
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
