"""The directory: who helps with what, when they are open, and when you will hear back.

`create_app` (the app factory, `directory.factory`) is imported on first use, so that a process
needing only the domain (the search service, holding the sentence model) does not load Flask.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DirectoryFlask", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from directory import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'directory' has no attribute {name!r}")
