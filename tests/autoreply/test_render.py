"""directory.autoreply.render: the team's template where it renders, the default where not."""

from __future__ import annotations

from typing import Any

import pytest

from directory.autoreply import render_auto_reply
from tests.autoreply.factories import TEAM_BODY, make_facts


def test_team_template_renders_variables_and_loops() -> None:
    reply = render_auto_reply(make_facts(), {"subject": "Re: your message to {{ team_name }}", "body": TEAM_BODY})

    assert (reply.template_used, reply.template_error) == ("team", None)
    assert reply.subject == "Re: your message to Payroll"
    assert reply.text == (
        "Hi, thanks for writing to Payroll!\n\n"
        "We're in today (Open until 17:30).\n"
        "Expect an answer by Tue 26 Nov at 11:00.\n\n"
        "What we do:\n"
        "- Payslip corrections (3 business days)\n"
        "- Advice\n\n"
        "Book at https://intranet.example/forms/payroll\n"
    )
    assert reply.html == (
        "<p>Hi, thanks for writing to Payroll!</p>\n"
        "<p>We&#39;re in today (Open until 17:30).<br>\n"
        "Expect an answer by Tue 26 Nov at 11:00.</p>\n"
        "<p>What we do:</p>\n"
        "<ul>\n<li>Payslip corrections (3 business days)</li>\n<li>Advice</li>\n</ul>\n"
        '<p>Book at <a href="https://intranet.example/forms/payroll">https://intranet.example/forms/payroll</a></p>\n'
    )


def test_team_template_markup_is_escaped_in_html() -> None:
    body = "<b>Hello</b> from {{ team_name }} — {{ escalation }}"
    reply = render_auto_reply(make_facts(team_name="<i>Pay</i>", escalation="<script>x</script>"), {"body": body})

    assert reply.template_used == "team"
    assert reply.text == "<b>Hello</b> from <i>Pay</i> — <script>x</script>\n"
    assert reply.html == (
        "<p>&lt;b&gt;Hello&lt;/b&gt; from &lt;i&gt;Pay&lt;/i&gt; — &lt;script&gt;x&lt;/script&gt;</p>\n"
    )


def test_team_template_missing_values_render_empty() -> None:
    facts = make_facts(booking=None, reply_by_text=None)
    reply = render_auto_reply(facts, {"body": "[{{ booking.url }}][{{ reply_by_text }}][{{ services[9].name }}]"})

    assert (reply.template_used, reply.text) == ("team", "[][][]\n")


def test_team_template_parts_fall_back_separately() -> None:
    reply = render_auto_reply(make_facts(), {"subject": "{{ team_name ", "body": "Thanks, {{ team_name }}."})

    assert reply.subject == "We've received your message — Payroll"
    assert reply.text == "Thanks, Payroll.\n"
    assert reply.template_used == "team"
    assert reply.template_error.startswith("subject: line 1: ")


def test_team_template_that_renders_nothing_is_not_sent() -> None:
    reply = render_auto_reply(make_facts(services=[]), {"body": "{% for s in services %}{{ s.name }}{% endfor %}"})

    assert reply.template_used == "default"
    assert reply.template_error == "body: the message renders empty"


@pytest.mark.parametrize(
    ("template", "error"),
    [
        (None, None),
        ({}, None),
        ({"subject": None, "body": "   "}, None),
        ("{{ team_name }}", "the template must be an object with 'subject' and 'body'"),
        ({"body": 123}, "body: must be text"),
    ],
)
def test_odd_template_values_give_the_default(template: Any, error: str | None) -> None:
    reply = render_auto_reply(make_facts(), template)

    assert (reply.template_used, reply.template_error) == ("default", error)
    assert reply.text == render_auto_reply(make_facts()).text
