"""The words of a team document: its fields in order with their labels, and the closed lists its
values choose from with their human wording.

The schema (`directory.schemas`), the hours engine, the editor, the team page, the history and
the error summaries all read them here, so that the editor never offers what validation refuses
and a field or an allowed value is added in one place (issue 11). Plain data and two look-ups of
the zone database: nothing here imports the rest of the directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import available_timezones

__all__ = [
    "BOOKING_ACTIONS",
    "BOOKING_METHODS",
    "BOOKING_REPLY_PHRASES",
    "CONTACT_KINDS",
    "CONTACT_LABELS",
    "DAY_NAMES",
    "DURATION_UNITS",
    "DURATION_WORDS",
    "EDITOR_ORDER",
    "FIELD_LABELS",
    "NOTICE_LEVELS",
    "NOTICE_REPLY_LEADS",
    "OMITTED_WHEN_EMPTY",
    "REPLY_CONTACT_LABELS",
    "TEAM_FIELDS",
    "WEEKDAYS",
    "is_time_zone",
    "time_zones",
]


def _frozen(mapping: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(mapping)


# --- the fields of a team (CONTRACT §1) ---------------------------------------------------------

FIELD_LABELS: Mapping[str, str] = _frozen({
    "slug": "Web address (slug)", "name": "Name", "summary": "Summary", "description": "Description",
    "department": "Department", "tags": "Tags", "location": "Location", "timezone": "Time zone",
    "hours": "Opening hours", "response_time": "Reply time", "booking": "How to book", "contacts": "Contacts",
    "services": "Services", "escalation": "Escalation", "owners": "Owners", "last_reviewed": "Last reviewed",
    "auto_reply": "Auto-reply", "notices": "Notices",
})
"""Each field's name for people (history, error summaries), in document order."""

TEAM_FIELDS: tuple[str, ...] = tuple(FIELD_LABELS)
"""The order of keys in every team document the directory writes out."""

OMITTED_WHEN_EMPTY: tuple[str, ...] = ("notices",)
"""Optional lists left out of a document that has none, so documents written before them stay equal."""

EDITOR_ORDER: tuple[str, ...] = (
    "name", "slug", "summary", "description", "department", "location", "tags", "timezone", "notices", "hours",
    "response_time", "booking", "services", "contacts", "escalation", "owners", "last_reviewed", "auto_reply",
)
"""The fields as the editor shows them, top to bottom, so its error summary reads in the same order."""

# --- the closed lists, each value with its wording ----------------------------------------------

DAY_NAMES: Mapping[str, str] = _frozen({
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
    "sat": "Saturday", "sun": "Sunday",
})
"""The days of `hours.weekly`, Monday first, and their names."""

WEEKDAYS: tuple[str, ...] = tuple(DAY_NAMES)

DURATION_UNITS: Mapping[str, str] = _frozen({
    "business_hours": "business hours", "business_days": "business days", "hours": "hours (around the clock)",
    "days": "days (calendar)",
})
"""The units of `response_time` and a service's `turnaround`, as the editor offers them."""

DURATION_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "business_hours": ("business hour", "business hours"),
    "business_days": ("business day", "business days"),
    "hours": ("hour", "hours"),
    "days": ("day", "days"),
})
"""Each duration unit after a number (singular, plural): "1 business day", "4 business hours"."""

BOOKING_METHODS: Mapping[str, str] = _frozen({
    "form": "Request form", "email": "E-mail", "calendar": "Book a slot in a calendar", "chat": "Chat",
    "phone": "Phone", "walk_in": "Walk in", "ticket": "Raise a ticket",
})
"""The values of `booking.method`, as the editor offers them."""

BOOKING_ACTIONS: Mapping[str, str] = _frozen({
    "form": "Open the request form", "email": "Send an e-mail", "calendar": "Book a time", "chat": "Start a chat",
    "phone": "Call the team", "walk_in": "Walk in", "ticket": "Raise a ticket",
})
"""Each booking method as the team page's button (and the history) says it."""

BOOKING_REPLY_PHRASES: Mapping[str, str] = _frozen({
    "form": "fill in the form", "email": "send us an email", "calendar": "pick a time in our calendar",
    "chat": "message us on chat", "phone": "give us a call", "walk_in": "drop by in person", "ticket": "raise a ticket",
})
"""Each booking method as the default auto-reply asks for it ("To book, please …")."""

CONTACT_KINDS: Mapping[str, str] = _frozen({"email": "E-mail", "chat": "Chat", "phone": "Phone", "url": "Web link"})
"""The values of a contact's `kind`, as the editor offers them."""

CONTACT_LABELS: Mapping[str, str] = _frozen({"email": "E-mail", "chat": "Chat", "phone": "Phone", "url": "Web"})
"""The label the team page gives a contact of each kind that has no label of its own."""

REPLY_CONTACT_LABELS: Mapping[str, str] = _frozen({"email": "Email", "chat": "Chat", "phone": "Phone", "url": "Web"})
"""The label the default auto-reply gives a contact of each kind that has no label of its own."""

NOTICE_LEVELS: Mapping[str, str] = _frozen({"info": "Information", "warning": "Warning"})
"""The values of a notice's `level`, as the editor offers them."""

NOTICE_REPLY_LEADS: Mapping[str, str] = _frozen({"info": "Please note: ", "warning": "Important: "})
"""What begins a notice of each level in the default auto-reply."""


# --- time zones ---------------------------------------------------------------------------------

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
