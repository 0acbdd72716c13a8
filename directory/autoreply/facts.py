"""What a reply says and what rendering gives back: ``ReplyFacts`` in, ``AutoReply`` out.

The caller (``directory.facts``) works the facts out for one instant; everything here is plain
data, so a reply can be rendered from a test, the CLI or the mail responder alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SAMPLE_FACTS", "AutoReply", "ReplyFacts"]


@dataclass(frozen=True)
class ReplyFacts:
    """Everything a reply says, computed by the caller (hours engine, wording) for one instant.

    Text fields are already human-worded; ``*_reader`` variants are in the sender's time zone
    and given only when it differs from ``timezone``.
    """

    team_name: str
    team_slug: str
    team_url: str
    summary: str | None
    is_open: bool
    hours_published: bool
    status_text: str
    status_text_reader: str | None
    reply_by_text: str | None
    reply_by_text_reader: str | None
    response_time_text: str | None
    services: list[dict]
    booking: dict | None
    escalation: str | None
    contacts: list[dict]
    timezone: str
    status_text_zoned: str | None = None
    urgent_contacts: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)  # active now: each {message, level}; shown in every reply


@dataclass(frozen=True)
class AutoReply:
    """A rendered reply. ``template_used`` is "team" when any part came from the team's
    template; ``template_error`` says why a part the team wrote was not used."""

    subject: str
    text: str
    html: str
    template_used: str = "default"
    template_error: str | None = None


SAMPLE_FACTS = ReplyFacts(
    team_name="Payroll",
    team_slug="payroll",
    team_url="https://directory.example/teams/payroll",
    summary="Salaries, payslips, tax codes and expense reimbursement.",
    is_open=True,
    hours_published=True,
    status_text="Open until 17:30",
    status_text_reader="Open until 18:30",
    reply_by_text="Tue 26 Nov at 11:00",
    reply_by_text_reader="Tue 26 Nov at 12:00",
    response_time_text="4 business hours",
    services=[
        {
            "name": "Payslip corrections",
            "description": "Wrong amount, missing overtime.",
            "turnaround_text": "3 business days",
            "done_by_text": "Fri 29 Nov at 11:00",
            "booking": {"method": "form", "url": "https://intranet.example/forms/payroll",
                        "instructions": "Attach your payslip."},
        },
        {"name": "Tax code questions", "description": None, "turnaround_text": None,
         "done_by_text": None, "booking": None},
    ],
    booking={"method": "form", "url": "https://intranet.example/forms/payroll",
             "instructions": "Use the form; attach your payslip."},
    escalation="Ask for the Payroll manager via the team mailbox, subject 'Escalation'.",
    contacts=[
        {"kind": "email", "value": "payroll@example.com", "label": "Team mailbox"},
        {"kind": "chat", "value": "#payroll-help", "label": None},
    ],
    timezone="Europe/London",
)  # fmt: skip
"""Representative facts, for previews and trial renders in the template editor."""
