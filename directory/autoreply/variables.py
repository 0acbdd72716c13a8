"""What a team template sees: the documented variables, built fresh from the facts.

``TEMPLATE_VARIABLES`` is the documentation owners read in the editor and the list of names the
sandbox accepts; ``template_context`` gives exactly those names, as plain str/bool/list/dict
values, so nothing a template reaches is shared with the caller or has methods beyond theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directory.autoreply.facts import ReplyFacts

__all__ = ["TEMPLATE_VARIABLES", "as_text", "booking_fields", "mappings", "template_context"]

TEMPLATE_VARIABLES: dict[str, str] = {
    "team_name": "The team's name, e.g. Payroll.",
    "team_slug": "The team's short name used in links, e.g. payroll.",
    "team_url": "Link to the team's page in the directory.",
    "summary": "One line on what the team does (may be empty).",
    "is_open": "True when the team is open right now.",
    "hours_published": "True when the team publishes its opening hours.",
    "status_text": "Open or closed right now, e.g. 'Open until 17:30' or "
    "'Closed — opens Monday at 09:00 (in 2 days)'.",
    "status_text_reader": "The same in the sender's time zone when it differs (else empty).",
    "reply_by_text": "When to expect a reply, e.g. 'Tue 26 Nov at 11:00'; empty when the team "
    "publishes no hours or no response time.",
    "reply_by_text_reader": "The same in the sender's time zone when it differs (else empty).",
    "response_time_text": "The usual response time, e.g. '4 business hours' (may be empty).",
    "services": "What the team helps with: a list, each with name, description, turnaround_text "
    "(e.g. '3 business days'), done_by_text (when it would be done if started now) and booking.",
    "booking": "How to book: method, url and instructions (empty when not set).",
    "escalation": "How to escalate (may be empty).",
    "contacts": "Other ways to reach the team: a list, each with kind (email, chat, phone or "
    "url), value and label.",
    "timezone": "The team's time zone, e.g. Europe/London; the times above are in it.",
    "status_text_zoned": "status_text with the team's zone named after its time, e.g. "
    "'Closed for Christmas Day — opens Mon 4 Jan at 09:00 London time (in 10 days)'.",
    "urgent_contacts": "The contacts for urgent matters (out of hours, emergencies, 24/7 lines): a list "
    "like contacts; the default reply offers them while the team is closed.",
}


def as_text(value: Any) -> str | None:
    """A fact as text (None stays None): stored data may hold numbers where words are expected."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def booking_fields(booking: Any) -> dict[str, str | None] | None:
    if not isinstance(booking, Mapping):
        return None
    return {key: as_text(booking.get(key)) for key in ("method", "url", "instructions")}


def mappings(values: Any) -> list[Mapping[str, Any]]:
    """The entries of a list fact that are objects; anything else in it is ignored."""
    return [item for item in values or () if isinstance(item, Mapping)]


def _service_variables(service: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": as_text(service.get("name")),
        "description": as_text(service.get("description")),
        "turnaround_text": as_text(service.get("turnaround_text")),
        "done_by_text": as_text(service.get("done_by_text")),
        "booking": booking_fields(service.get("booking")),
    }


def _contact_variables(contacts: Any) -> list[dict[str, str | None]]:
    return [{key: as_text(contact.get(key)) for key in ("kind", "value", "label")} for contact in mappings(contacts)]


def template_context(facts: ReplyFacts) -> dict[str, Any]:
    """The documented variables — the facts under their own names — as fresh plain values:
    nothing a template reaches is shared with the caller or has methods beyond str/list/dict's."""
    return {
        "team_name": as_text(facts.team_name) or "",
        "team_slug": as_text(facts.team_slug) or "",
        "team_url": as_text(facts.team_url) or "",
        "summary": as_text(facts.summary),
        "is_open": bool(facts.is_open),
        "hours_published": bool(facts.hours_published),
        "status_text": as_text(facts.status_text) or "",
        "status_text_reader": as_text(facts.status_text_reader),
        "reply_by_text": as_text(facts.reply_by_text),
        "reply_by_text_reader": as_text(facts.reply_by_text_reader),
        "response_time_text": as_text(facts.response_time_text),
        "services": [_service_variables(service) for service in mappings(facts.services)],
        "booking": booking_fields(facts.booking),
        "escalation": as_text(facts.escalation),
        "contacts": _contact_variables(facts.contacts),
        "timezone": as_text(facts.timezone) or "",
        "status_text_zoned": as_text(facts.status_text_zoned) or as_text(facts.status_text) or "",
        "urgent_contacts": _contact_variables(facts.urgent_contacts),
    }
