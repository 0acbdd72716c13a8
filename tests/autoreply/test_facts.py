"""directory.autoreply.facts: the facts a reply says, the reply, and the sample team."""

from __future__ import annotations

import dataclasses

import pytest

from directory.autoreply import check_template, render_auto_reply
from directory.autoreply.facts import SAMPLE_FACTS, AutoReply, ReplyFacts
from directory.autoreply.variables import TEMPLATE_VARIABLES
from tests.autoreply.factories import make_facts


def test_facts_cannot_be_changed_once_made() -> None:
    facts = make_facts()
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.team_name = "HR"  # type: ignore[misc]


def test_optional_facts_start_empty_and_are_not_shared() -> None:
    first, second = make_facts(), make_facts()

    assert (first.status_text_zoned, first.urgent_contacts, first.notices) == (None, [], [])
    assert first.urgent_contacts is not second.urgent_contacts
    assert first.notices is not second.notices


def test_a_reply_is_the_default_wording_unless_said_otherwise() -> None:
    reply = AutoReply(subject="Hi", text="Hello\n", html="<p>Hello</p>\n")
    assert (reply.template_used, reply.template_error) == ("default", None)


def test_the_sample_team_shows_every_part_of_a_reply() -> None:
    """The editor previews templates on the sample team: it must have something for each part."""
    text = render_auto_reply(SAMPLE_FACTS).text

    for part in ("Right now: Open until 17:30", "In your time zone: Open until 18:30",
                 "Tue 26 Nov at 12:00 your time", "- Payslip corrections: Wrong amount", "To book, fill in the form",
                 "If it's urgent:", "- Team mailbox: payroll@example.com", "- Chat: #payroll-help"):
        assert part in text
    empty = [name for name in TEMPLATE_VARIABLES
             if name not in ("status_text_zoned", "urgent_contacts") and not getattr(SAMPLE_FACTS, name)]
    assert empty == []
    assert isinstance(SAMPLE_FACTS, ReplyFacts)
    assert check_template({"body": "{% for s in services %}{{ s.booking.url }}{% endfor %}"}) == {}
