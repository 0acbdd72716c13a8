"""The closed lists a team document chooses from, shared by the schema, the hours engine and the
editor's options, so that the editor never offers what validation refuses (issue 11)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

__all__ = ["is_time_zone", "time_zones"]

# Names the system's zone database holds that are no place's time: the editor must not offer them.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone a team may name, sorted: the editor's options and the schema's rule."""
    return tuple(sorted(available_timezones() - _NOT_ZONES))


@lru_cache(maxsize=1)
def _zone_set() -> frozenset[str]:
    return frozenset(time_zones())


def is_time_zone(name: object) -> bool:
    return isinstance(name, str) and name in _zone_set()
