"""The typed errors of the directory's business rules.

Raised by services, whoever called them; the API maps each to one HTTP status and the web views
to a message beside the field.
"""

from __future__ import annotations


class DirectoryError(Exception):
    """Base of every rule the directory refuses to break."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class InvalidTeam(DirectoryError):
    """The document failed validation; `errors` maps field paths to messages."""

    status = 422
    code = "validation_error"


class Conflict(DirectoryError):
    """Another team already holds this slug or contact address."""

    status = 409
    code = "conflict"


class NotFound(DirectoryError):
    status = 404
    code = "not_found"


class StaleVersion(DirectoryError):
    """The team changed since the editor read it: saving would overwrite someone's work."""

    status = 412
    code = "precondition_failed"

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class Forbidden(DirectoryError):
    status = 403
    code = "forbidden"
