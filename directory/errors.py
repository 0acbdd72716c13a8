"""The typed errors of the directory's business rules.

Raised by services, whoever called them. They say which rule was broken, never how to answer: the
API maps each kind to an HTTP status and error code (`api.errors`), the pages to a page or a
message beside the field (`directory.web.errors`). Modules raise their own subclasses of these
kinds, so every answer is found by the kind it descends from.
"""

from __future__ import annotations


class DirectoryError(Exception):
    """Base of every rule the directory refuses to break."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Invalid(DirectoryError):
    """Input that cannot be stored as given; `errors` maps field paths to messages."""


class InvalidTeam(Invalid):
    """The document failed validation; `errors` maps field paths to messages."""


class Conflict(DirectoryError):
    """Another team already holds this slug or contact address."""


class NotFound(DirectoryError):
    """No such team, person, round or record (or not one the asker may see)."""


class StaleVersion(DirectoryError):
    """The team changed since the editor read it: saving would overwrite someone's work.

    `current_version` is the team's version when it is known (None when a concurrent save was
    detected only as the database refused the write).
    """

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class Forbidden(DirectoryError):
    """The actor may not do this (not an owner, not an administrator, a read-only token)."""


class Throttled(DirectoryError):
    """Done too often for now; `retry_after` is how many seconds to wait before trying again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
