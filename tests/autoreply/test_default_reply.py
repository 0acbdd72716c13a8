"""directory.autoreply.default_reply: the directory's own wording, in text and HTML."""

from __future__ import annotations

import re

from directory.autoreply import render_auto_reply
from directory.autoreply.default_reply import default_blocks, default_subject, one_line
from tests.autoreply.factories import (
    ALLOWED_TAGS,
    AROUND_THE_CLOCK,
    CLOSED,
    UNPUBLISHED,
    make_facts,
    tags,
)


def test_default_reply_when_open() -> None:
    reply = render_auto_reply(make_facts())

    assert reply.subject == "We've received your message — Payroll"
    assert (reply.template_used, reply.template_error) == ("default", None)
    text = reply.text
    assert "we've received your message" in text
    assert "Right now: Open until 17:30." in text
    assert "You can expect a reply by Tue 26 Nov at 11:00 (Europe/London time)." in text
    assert "We usually reply within 4 business hours." in text
    assert ("- Payslip corrections: Wrong amount, missing overtime. "
            "Usually done within 3 business days (around Fri 29 Nov at 11:00).") in text
    assert "- Advice: To request it, pick a time in our calendar: https://cal.example/payroll\n" in text
    assert "To book, fill in the form: https://intranet.example/forms/payroll — Use the form; attach" in text
    assert "If it's urgent: Ask for the Payroll manager" in text
    assert "- Team mailbox: payroll@example.com" in text
    assert "https://directory.example/teams/payroll" in text
    assert "<" not in text and "&#" not in text
    html = reply.html
    assert tags(html) <= ALLOWED_TAGS
    assert "<strong>Tue 26 Nov at 11:00</strong>" in html
    assert '<a href="https://intranet.example/forms/payroll">' in html
    assert '<a href="mailto:payroll@example.com">payroll@example.com</a>' in html
    assert '<a href="tel:+442079460000">+44 20 7946 0000</a>' in html
    assert "<li><strong>Payslip corrections</strong>: Wrong amount" in html


def test_default_reply_when_closed_says_when_it_opens() -> None:
    reply = render_auto_reply(make_facts(**CLOSED))

    assert "Right now: Closed — opens Monday at 09:00 (in 2 days)." in reply.text
    assert "You can expect a reply by Mon 2 Dec at 13:00 (Europe/London time)." in reply.text
    assert "Closed — opens Monday at 09:00 (in 2 days)." in reply.html


def test_default_reply_without_hours_promises_no_time() -> None:
    reply = render_auto_reply(make_facts(**UNPUBLISHED))

    assert "we'll reply as soon as we can" in reply.text
    for promise in ("reply by", "Right now", "4 business hours", "Hours not published"):
        assert promise not in reply.text
    assert "reply by" not in reply.html


def test_default_reply_around_the_clock() -> None:
    reply = render_auto_reply(make_facts(**AROUND_THE_CLOCK))

    assert "Right now: Open around the clock." in reply.text
    assert "You can expect a reply by Tue 26 Nov at 13:00 (Europe/London time)." in reply.text


def test_default_reply_gives_the_readers_time_when_it_differs() -> None:
    reply = render_auto_reply(make_facts(status_text_reader="Open until 18:30",
                                         reply_by_text_reader="Tue 26 Nov at 12:00"))

    assert "Right now: Open until 17:30 (Europe/London time)." in reply.text
    assert "In your time zone: Open until 18:30." in reply.text
    assert "by Tue 26 Nov at 11:00 (Europe/London time; Tue 26 Nov at 12:00 your time)." in reply.text


def test_default_reply_with_only_a_name() -> None:
    reply = render_auto_reply(make_facts(summary=None, response_time_text=None, reply_by_text=None,
                                         services=[], booking=None, escalation=None, contacts=[]))

    assert "We'll reply as soon as we can." in reply.text
    for absent in ("What we help with", "To book", "urgent", "Other ways"):
        assert absent not in reply.text


def test_default_reply_falls_back_to_the_summary_without_services() -> None:
    reply = render_auto_reply(make_facts(services=[]))

    assert "What we help with: Salaries, payslips, tax codes and expense reimbursement." in reply.text


def test_html_escapes_everything_the_team_wrote() -> None:
    attack = "<script>alert(1)</script>"
    reply = render_auto_reply(make_facts(
        team_name=f"Pay{attack}roll",
        escalation=f"Shout {attack}",
        summary=attack,
        services=[{"name": attack, "description": '"><img src=x onerror=alert(1)>', "turnaround_text": attack,
                   "done_by_text": None, "booking": {"method": attack, "url": None, "instructions": attack}}],
        booking={"method": "form", "url": 'https://x.example/"onmouseover="alert(1)', "instructions": attack},
        contacts=[{"kind": "chat", "value": attack, "label": attack}],
    ))

    assert tags(reply.html) <= ALLOWED_TAGS
    assert "<script" not in reply.html and "<img" not in reply.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.html
    assert 'href="https://x.example/&#34;onmouseover=&#34;alert(1)"' in reply.html
    assert attack in reply.text  # plain text is not HTML: it stays as written


def test_html_links_only_safe_urls() -> None:
    reply = render_auto_reply(make_facts(
        team_url="/teams/payroll",
        booking={"method": "form", "url": "javascript:alert(1)", "instructions": None},
        escalation="See https://wiki.example/escalation. Or JavaScript:alert(2)",
        contacts=[{"kind": "url", "value": "data:text/html,<b>x</b>", "label": "Site"},
                  {"kind": "url", "value": "https://payroll.example", "label": "Site"}],
    ))

    hrefs = re.findall(r'href="([^"]*)"', reply.html)
    assert hrefs
    assert all(href.startswith(("https://", "http://", "mailto:", "tel:")) for href in hrefs)
    assert "https://wiki.example/escalation" in hrefs  # the trailing full stop is not part of it
    assert "https://payroll.example" in hrefs
    assert "javascript:alert(1)" in reply.html  # shown, as text
    assert "/teams/payroll" in reply.html


def test_subject_is_one_header_line() -> None:
    reply = render_auto_reply(make_facts(team_name="Pay\r\nBcc: everyone@example.com\x00"))

    assert reply.subject == "We've received your message — Pay Bcc: everyone@example.com"


def test_default_reply_names_the_zone_of_its_times() -> None:
    reply = render_auto_reply(make_facts(
        is_open=False, status_text="Closed for Christmas Day — opens Mon 4 Jan at 09:00 (in 10 days)",
        status_text_zoned="Closed for Christmas Day — opens Mon 4 Jan at 09:00 London time (in 10 days)",
        reply_by_text="Mon 4 Jan, 13:00"))

    assert "Right now: Closed for Christmas Day — opens Mon 4 Jan at 09:00 London time (in 10 days)." in reply.text
    assert "You can expect a reply by Mon 4 Jan, 13:00 (Europe/London time)." in reply.text


def test_default_reply_offers_the_urgent_line_while_closed() -> None:
    line = {"kind": "phone", "value": "+44 20 7946 0199", "label": "Out-of-hours line"}
    closed = render_auto_reply(make_facts(**CLOSED, urgent_contacts=[line]))
    assert "If it can't wait until we open: Out-of-hours line: +44 20 7946 0199." in closed.text
    assert '<a href="tel:+442079460199">+44 20 7946 0199</a>' in closed.html
    open_now = render_auto_reply(make_facts(urgent_contacts=[line]))
    assert "If it can't wait" not in open_now.text


def test_an_email_contact_is_linked_only_when_it_is_an_address() -> None:
    """The one e-mail rule (directory.contacts) decides what becomes a mailto link."""
    reply = render_auto_reply(make_facts(contacts=[
        {"kind": "email", "value": "Payroll.Desk@Example.com", "label": None},
        {"kind": "email", "value": "first..last@example", "label": "Old mailbox"},
    ]))

    assert '<a href="mailto:Payroll.Desk@Example.com">Payroll.Desk@Example.com</a>' in reply.html
    assert "<li>Old mailbox: first..last@example</li>" in reply.html
    assert "- Old mailbox: first..last@example\n" in reply.text


def test_one_line_makes_a_header_safe_line() -> None:
    assert one_line("  Pay\r\n\troll\x00 team\x7f ") == "Pay roll team"
    assert one_line(None) == ""
    assert one_line(42) == "42"


def test_default_subject_without_a_name() -> None:
    assert default_subject(make_facts(team_name=" \n ")) == "We've received your message"
    assert default_subject(make_facts()) == "We've received your message — Payroll"


def test_without_a_team_link_the_reply_neither_links_the_page_nor_asks_for_a_rating() -> None:
    with_link = default_blocks(make_facts())
    without = default_blocks(make_facts(team_url=""))

    assert len(without) == len(with_link) - 1
    assert without[-2:] == [[(False, ("Best wishes,",)), (False, ("Payroll",))],
                            [(False, ("This is an automatic reply.",))]]
    assert "feedback" not in render_auto_reply(make_facts(team_url="")).text
    assert re.search(r"tell us: https://directory\.example/teams/payroll/feedback\n$", render_auto_reply(make_facts()).text)
