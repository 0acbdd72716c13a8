"""Team search: a Whoosh index over plain team dicts, shared by the processes of one host.

Free of Flask and SQLAlchemy on purpose: callers load teams themselves and hand them over as
§1 dicts with an ``"id"``; see `search.index.SearchIndex` for the contract.
"""

from search.documents import SCHEMA_VERSION, document_fields
from search.index import IndexLockedError, IndexUnusableError, SearchIndex, SearchResults

__all__ = [
    "SCHEMA_VERSION",
    "IndexLockedError",
    "IndexUnusableError",
    "SearchIndex",
    "SearchResults",
    "document_fields",
]
