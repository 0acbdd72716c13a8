"""Team search: a Whoosh index over plain team dicts, shared by the processes of one host.

Free of Flask and SQLAlchemy on purpose: callers load teams themselves and hand them over as
§1 dicts with an ``"id"``; see `search.index.SearchIndex` for the contract. The names below are
imported on first use, so that a process needing only `search.semantic` (the search service)
does not load Whoosh.
"""

from __future__ import annotations

from typing import Any

_FROM = {
    "SCHEMA_VERSION": "search.documents", "document_fields": "search.documents",
    "IndexLockedError": "search.index", "IndexUnusableError": "search.index",
    "SearchIndex": "search.index", "SearchResults": "search.index",
}
__all__ = sorted(_FROM)


def __getattr__(name: str) -> Any:
    if name in _FROM:
        import importlib

        return getattr(importlib.import_module(_FROM[name]), name)
    raise AttributeError(f"module 'search' has no attribute {name!r}")
