"""directory.autoreply.variables: what a team template sees, as fresh plain values."""

from __future__ import annotations

from directory.autoreply import SAMPLE_FACTS, check_template, render_auto_reply
from directory.autoreply.variables import TEMPLATE_VARIABLES, template_context
from tests.autoreply.factories import BOOKING, make_facts


def test_every_documented_variable_is_given_and_usable() -> None:
    context = template_context(SAMPLE_FACTS)

    assert set(context) == set(TEMPLATE_VARIABLES)
    assert all(description.strip() for description in TEMPLATE_VARIABLES.values())
    body = "\n".join(f"{{{{ {name} }}}}" for name in TEMPLATE_VARIABLES)
    assert check_template({"body": body}) == {}


def test_template_cannot_change_the_callers_facts() -> None:
    facts = make_facts()
    body = "{% set x = services.append(1) %}{{ booking.update({'url': 'evil'}) }}"

    reply = render_auto_reply(facts, {"body": body})

    assert reply.template_used == "default"
    assert len(facts.services) == 2 and facts.booking == BOOKING
    assert template_context(facts)["services"][0] is not facts.services[0]


def test_templates_may_use_the_urgent_contacts_and_zoned_status() -> None:
    line = {"kind": "phone", "value": "+44 20 7946 0199", "label": "Out-of-hours line"}
    template = {"subject": None, "body": "{{ status_text_zoned }} / {% for c in urgent_contacts %}{{ c.value }}{% endfor %}"}
    assert check_template(template) == {}
    reply = render_auto_reply(make_facts(status_text_zoned="Open until 17:30 London time", urgent_contacts=[line]),
                              template)
    assert reply.template_error is None
    assert "Open until 17:30 London time / +44 20 7946 0199" in reply.text


def test_values_are_plain_text_whatever_was_stored() -> None:
    facts = make_facts(team_name=42, summary=None, services=[{"name": 7, "booking": "not an object"}, "stray", None],
                       booking={"method": "form", "url": "https://x.example", "secret": "kept out"},
                       contacts=[{"kind": "phone", "value": 5550100, "label": None, "extra": 1}, ["stray"]])
    context = template_context(facts)

    assert context["team_name"] == "42" and context["summary"] is None
    assert context["services"] == [{"name": "7", "description": None, "turnaround_text": None,
                                    "done_by_text": None, "booking": None}]
    assert context["booking"] == {"method": "form", "url": "https://x.example", "instructions": None}
    assert context["contacts"] == [{"kind": "phone", "value": "5550100", "label": None}]


def test_the_zoned_status_falls_back_to_the_status() -> None:
    assert template_context(make_facts())["status_text_zoned"] == "Open until 17:30"
    zoned = make_facts(status_text_zoned="Open until 17:30 London time")
    assert template_context(zoned)["status_text_zoned"] == "Open until 17:30 London time"
