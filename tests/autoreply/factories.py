"""Facts and templates the auto-reply tests share: Payroll, open now, and its variations."""

from __future__ import annotations

import re
from typing import Any

from directory.autoreply import ReplyFacts

BOOKING = {
    "method": "form",
    "url": "https://intranet.example/forms/payroll",
    "instructions": "Use the form; attach your payslip.",
}


def make_facts(**overrides: Any) -> ReplyFacts:
    """Payroll, open now, in one time zone with the reader."""
    facts: dict[str, Any] = {
        "team_name": "Payroll",
        "team_slug": "payroll",
        "team_url": "https://directory.example/teams/payroll",
        "summary": "Salaries, payslips, tax codes and expense reimbursement.",
        "is_open": True,
        "hours_published": True,
        "status_text": "Open until 17:30",
        "status_text_reader": None,
        "reply_by_text": "Tue 26 Nov at 11:00",
        "reply_by_text_reader": None,
        "response_time_text": "4 business hours",
        "services": [
            {
                "name": "Payslip corrections",
                "description": "Wrong amount, missing overtime.",
                "turnaround_text": "3 business days",
                "done_by_text": "Fri 29 Nov at 11:00",
                "booking": None,
            },
            {"name": "Advice", "description": None, "turnaround_text": None, "done_by_text": None,
             "booking": {"method": "calendar", "url": "https://cal.example/payroll", "instructions": None}},
        ],
        "booking": BOOKING,
        "escalation": "Ask for the Payroll manager via the team mailbox, subject 'Escalation'.",
        "contacts": [
            {"kind": "email", "value": "payroll@example.com", "label": "Team mailbox"},
            {"kind": "chat", "value": "#payroll-help", "label": None},
            {"kind": "phone", "value": "+44 20 7946 0000", "label": None},
        ],
        "timezone": "Europe/London",
    }
    facts.update(overrides)
    return ReplyFacts(**facts)


CLOSED = {"is_open": False, "status_text": "Closed — opens Monday at 09:00 (in 2 days)",
          "reply_by_text": "Mon 2 Dec at 13:00"}
UNPUBLISHED = {"is_open": False, "hours_published": False, "status_text": "Hours not published",
               "reply_by_text": None}
AROUND_THE_CLOCK = {"status_text": "Open around the clock", "reply_by_text": "Tue 26 Nov at 13:00"}
ALLOWED_TAGS = {"p", "br", "ul", "li", "a", "strong"}


def tags(html: str) -> set[str]:
    return {name.lower() for name in re.findall(r"</?\s*([a-zA-Z][\w-]*)", html)}


TEAM_BODY = """\
Hi, thanks for writing to {{ team_name }}!

{% if is_open %}We're in today ({{ status_text }}).{% else %}We're away: {{ status_text }}.{% endif %}
{% if reply_by_text %}Expect an answer by {{ reply_by_text }}.{% endif %}

What we do:
{% for service in services %}
- {{ service.name }}{% if service.turnaround_text %} ({{ service.turnaround_text }}){% endif %}
{% endfor %}

Book at {{ booking.url }}
"""
