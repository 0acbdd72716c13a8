"""Tests for directory.autoreply: addresses, the default reply, and team templates in the sandbox."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from directory import autoreply, contacts
from directory.autoreply import (
    ADDRESS_RE,
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_CHARS,
    SAMPLE_FACTS,
    TEMPLATE_FILTERS,
    TEMPLATE_VARIABLES,
    ReplyFacts,
    check_template,
    normalize_address,
    render_auto_reply,
    template_context,
)

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


# --- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("payroll@example.com", "payroll@example.com"),
        ('"Payroll" <Payroll+urgent@Example.com>', "payroll@example.com"),
        ("Payroll Team <payroll@example.com>", "payroll@example.com"),
        ("<payroll@example.com>", "payroll@example.com"),
        ("  PAYROLL@EXAMPLE.COM \t", "payroll@example.com"),
        ("payroll+tag+more@example.com", "payroll@example.com"),
        ("mailto:payroll@example.com", "payroll@example.com"),
        ("MAILTO:Payroll@Example.com?subject=Hi", "payroll@example.com"),
        ("Payroll <mailto:payroll+x@example.com>", "payroll@example.com"),
        ('"Doe, John" <john.doe@example.co.uk>', "john.doe@example.co.uk"),
        ("payroll@example.com (Payroll team)", "payroll@example.com"),
        ("Payroll\r\n <payroll@example.com>", "payroll@example.com"),  # a folded header
    ],
)
def test_normalize_address_finds_the_one_form(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected
    assert ADDRESS_RE.fullmatch(expected)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "not an address", "payroll", "@example.com", "payroll@", "a@b@c.com", "+tag@example.com",
     "payroll@example", "pay roll@example.com", "payroll@exa_mple.com", "john..doe@example.com", "<>",
     "payroll@example.com, hr@example.com", "payroll@example.com\nBcc: victim@example.com",
     "pay\x00roll@example.com", "x" * 2000 + "@example.com", None, 42],
)
def test_normalize_address_refuses_what_is_not_one_address(raw: Any) -> None:
    assert normalize_address(raw) is None


# --- the default reply -----------------------------------------------------------------------


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


# --- team templates --------------------------------------------------------------------------

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


MALICIOUS = {
    "class hierarchy": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__' of str is not allowed"),
    "private attribute alone": ("{{ ''.__class__ }}", "not allowed"),
    "globals through a function": ("{{ cycler.__init__.__globals__ }}", "not allowed"),
    "attr filter": ("{{ ''|attr('__class__') }}", "not allowed"),
    "map attribute": ("{{ services|map(attribute='__class__')|list }}", "not allowed"),
    "str.format": ("{{ '{0.__class__}'.format('') }}", "'format' of str is not allowed"),
    "huge range": ("{{ range(10**9)|list }}", "range() is limited to 100,000 items"),
    "nested big loops": ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
                         "too much work"),
    "huge repetition": ("{{ 'x' * 10**9 }}", "would grow past"),
    "huge power": ("{{ 10**10**10 }}", "would grow past 64 bits"),
    "huge power, right-nested": ("{{ 10**(10**10) }}", "would grow past 64 bits"),
    "huge output": ("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}",
                    f"output is longer than {MAX_OUTPUT_CHARS:,} characters"),
    "syntax error": ("Hello\n{% for %}\n", "line 2: "),
    "1 MB template": ("x" * 1_000_000, f"longer than {MAX_TEMPLATE_CHARS:,} characters"),
    "padding method": ("{{ 'x'.ljust(10**9) }}", "not allowed"),
    "printf width": ("{{ '%999999999d' % 1 }}", "format widths are limited"),
    "doubling in a namespace": (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "grew past"),
    "nesting lists": (
        "{% set ns = namespace(s=['x']) %}{% for i in range(64) %}{% set ns.s = [ns.s, ns.s] %}{% endfor %}"
        "{{ ns.s }}", "grew past"),
    "exponential macro": ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
                          "too much work"),
    "endless recursion": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "too deeply nested"),
    "quadratic join": ("{{ range(20000)|join('x' * 20000) }}", "would grow past"),
    "quadratic replace": ("{{ ('x' * 20000)|replace('', 'y' * 20000) }}", "would grow past"),
    "unknown variable": ("{{ lipsum(n=100000) }}", "unknown variable 'lipsum'"),
    "unsafe filter": ("{{ '<b>'|safe }}", "unknown filter 'safe'"),
    "include": ("{% include '/etc/passwd' %}", "cannot be included"),
}


@pytest.mark.parametrize(("body", "reason"), list(MALICIOUS.values()), ids=list(MALICIOUS))
def test_malicious_template_is_contained(body: str, reason: str) -> None:
    reply = render_auto_reply(make_facts(), {"body": body})  # finishing at all is the point

    assert reply.template_used == "default"
    assert reply.template_error.startswith("body: ")
    assert reason in reply.template_error
    assert reply.text == render_auto_reply(make_facts()).text


def test_malicious_subject_is_contained() -> None:
    reply = render_auto_reply(make_facts(), {"subject": "{{ ''.__class__ }}"})

    assert reply.subject == "We've received your message — Payroll"
    assert reply.template_error == "subject: line 1: access to '__class__' of str is not allowed"


def test_template_cannot_change_the_callers_facts() -> None:
    facts = make_facts()
    body = "{% set x = services.append(1) %}{{ booking.update({'url': 'evil'}) }}"

    reply = render_auto_reply(facts, {"body": body})

    assert reply.template_used == "default"
    assert len(facts.services) == 2 and facts.booking == BOOKING
    assert template_context(facts)["services"][0] is not facts.services[0]


# --- check_template --------------------------------------------------------------------------


def test_check_template_accepts_a_good_template() -> None:
    assert check_template({"subject": "Re: {{ team_name }}", "body": TEAM_BODY}) == {}
    assert check_template({"subject": None, "body": None}) == {}


def test_check_template_names_the_field_and_line() -> None:
    errors = check_template({"subject": "Thanks", "body": "Hello\n\n{{ team_name }\n"})

    assert list(errors) == ["body"]
    assert errors["body"] == ["line 3: unexpected '}'"]


def test_check_template_reports_each_field() -> None:
    errors = check_template({"subject": "{{ nope }}", "body": "x" * (MAX_TEMPLATE_CHARS + 1)})

    assert errors == {
        "subject": ["line 1: unknown variable 'nope'"],
        "body": [f"the template is longer than {MAX_TEMPLATE_CHARS:,} characters"],
    }


def test_check_template_runs_the_template() -> None:
    assert check_template({"body": "{{ ''.__class__ }}"}) == {
        "body": ["line 1: access to '__class__' of str is not allowed"]}
    assert check_template({"body": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"})


def test_check_template_tries_a_team_without_details() -> None:
    errors = check_template({"body": "{% for key, value in booking.items() %}{{ key }}{% endfor %}"})

    assert errors == {"body": ["line 1: 'None' has no attribute 'items' "
                               "(for a team with no hours, services or booking)"]}


def test_check_template_shapes() -> None:
    assert check_template({"body": 3}) == {"body": ["must be text"]}
    assert check_template(["body"]) == {"_schema": ["must be an object with 'subject' and 'body'"]}


# --- the documented surface ------------------------------------------------------------------


def test_every_documented_variable_is_given_and_usable() -> None:
    context = template_context(SAMPLE_FACTS)

    assert set(context) == set(TEMPLATE_VARIABLES)
    assert all(description.strip() for description in TEMPLATE_VARIABLES.values())
    body = "\n".join(f"{{{{ {name} }}}}" for name in TEMPLATE_VARIABLES)
    assert check_template({"body": body}) == {}


def test_filters_that_build_markup_are_not_offered() -> None:
    assert {"safe", "escape", "e", "urlize", "xmlattr", "center", "indent"}.isdisjoint(TEMPLATE_FILTERS)
    assert check_template({"body": "{{ services|map(attribute='name')|join(', ')|upper|truncate(12) }}"}) == {}


def test_module_is_pure_domain_code() -> None:
    tree = ast.parse(Path(autoreply.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    # directory.contacts is pure too: the one e-mail and phone rule (issue 11)
    assert not {name for name in imported if name.split(".")[0] in {"flask", "sqlalchemy", "directory"}} - {
        "directory.contacts"}
    assert "flask" not in Path(contacts.__file__).read_text(encoding="utf-8")


# --- why closed, whose time, and whom to call meanwhile ------------------------------------


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


def test_templates_may_use_the_urgent_contacts_and_zoned_status() -> None:
    line = {"kind": "phone", "value": "+44 20 7946 0199", "label": "Out-of-hours line"}
    template = {"subject": None, "body": "{{ status_text_zoned }} / {% for c in urgent_contacts %}{{ c.value }}{% endfor %}"}
    assert check_template(template) == {}
    reply = render_auto_reply(make_facts(status_text_zoned="Open until 17:30 London time", urgent_contacts=[line]),
                              template)
    assert reply.template_error is None
    assert "Open until 17:30 London time / +44 20 7946 0199" in reply.text
