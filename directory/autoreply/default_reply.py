"""The directory's own wording of a reply: used whenever a team has no template of its own, and
for each part of one that cannot be used.

It says that the message arrived, whether the team is open, when to expect a reply (only when
the team publishes hours), what the team helps with, how to book or escalate and whom else to
reach, in the sender's time zone too when it differs. Notices in force lead every reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from directory.autoreply.blocks import Block, Line, Link, Segment, Strong, linkify
from directory.autoreply.facts import ReplyFacts
from directory.autoreply.variables import as_text, booking_fields, mappings
from directory.contacts import is_email, tel_href
from directory.vocabulary import BOOKING_REPLY_PHRASES, NOTICE_REPLY_LEADS, REPLY_CONTACT_LABELS

__all__ = ["default_blocks", "default_subject", "notice_block", "one_line"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def one_line(value: Any) -> str:
    """Single-line text (subjects are mail headers: no line breaks or control characters)."""
    return " ".join(_CONTROL.sub(" ", as_text(value) or "").split())


def _sentence(value: str) -> str:
    value = value.strip()
    return value if not value or value[-1] in ".!?…" else value + "."


_BOOKING_PHRASES = BOOKING_REPLY_PHRASES
_CONTACT_KINDS = REPLY_CONTACT_LABELS


def _url_link(url: str) -> Link:
    label = re.sub(r"^(?:mailto|tel):", "", url, flags=re.IGNORECASE)
    return Link(url, label or url)


def _booking_segments(booking: Any, lead: str) -> list[Segment]:
    """``To book, fill in the form: <url> — <instructions>``; empty when nothing is set.

    The link ends the sentence without a full stop, so mail clients do not swallow one into it.
    """
    booking = booking_fields(booking) or {}
    method, url = one_line(booking.get("method")), (booking.get("url") or "").strip()
    instructions = linkify(_sentence(booking.get("instructions") or ""))
    phrase = _BOOKING_PHRASES.get(method, f"use {method.replace('_', ' ')}" if method else "")
    head = f"{lead}, {phrase}" if phrase else lead
    if url:
        return [f"{head}: ", _url_link(url), *([" — ", *instructions] if instructions else [])]
    if phrase:
        return [f"{head}.", *([" ", *instructions] if instructions else [])]
    return [f"{head}: ", *instructions] if instructions else []


def _timing_block(facts: ReplyFacts) -> Block:
    """Open or closed now and when to expect a reply; no promise without published hours."""
    if not facts.hours_published:
        return [(False, ("We don't publish fixed opening hours, so we'll reply as soon as we can.",))]
    two_zones = bool(facts.status_text_reader or facts.reply_by_text_reader)
    zone = f" ({facts.timezone} time)" if two_zones and facts.timezone else ""
    zoned = one_line(facts.status_text_zoned)
    block: Block = []
    status, status_reader = one_line(facts.status_text), one_line(facts.status_text_reader)
    reply_by, reply_by_reader = one_line(facts.reply_by_text), one_line(facts.reply_by_text_reader)
    response_time = one_line(facts.response_time_text)
    if status:
        block.append((False, (f"Right now: {_sentence(zoned or status + zone)}",)))
    if status_reader:
        block.append((False, (f"In your time zone: {_sentence(status_reader)}",)))
    urgent = [line for line in map(_contact_line, mappings(facts.urgent_contacts)) if line]
    if urgent and not facts.is_open:
        block.append((False, ("If it can't wait until we open: ", *urgent[0], *(
            part for line in urgent[1:] for part in ("; ", *line)), ".")))
    usual = f"We usually reply within {response_time}." if response_time else ""
    if reply_by:
        # the promise always names its zone: a reader abroad must not take it for their own time
        reader = f"; {reply_by_reader} your time" if reply_by_reader else ""
        suffix = f" ({facts.timezone} time{reader})" if facts.timezone else ""
        line: Line = ("You can expect a reply by ", Strong(reply_by), f"{suffix}.")
        block.append((False, line + ((" " + usual,) if usual else ())))
    else:
        block.append((False, (usual or "We'll reply as soon as we can.",)))
    return block


def _service_line(service: Mapping[str, Any]) -> Line:
    """``Name: description. Usually done within 3 business days (around …). To request it, …``"""
    sentences: list[list[Segment]] = []
    description = (as_text(service.get("description")) or "").strip()
    if description:
        sentences.append(linkify(_sentence(description)))
    turnaround, done_by = one_line(service.get("turnaround_text")), one_line(service.get("done_by_text"))
    if turnaround:
        around = f" (around {done_by})" if done_by else ""
        sentences.append([f"Usually done within {turnaround}{around}."])
    booking = _booking_segments(service.get("booking"), "To request it")
    if booking:
        sentences.append(booking)
    name = one_line(service.get("name"))
    segments: list[Segment] = [Strong(name), ": " if sentences else ""] if name else []
    for index, sentence in enumerate(sentences):
        if index:
            segments.append(" ")
        segments += sentence
    return tuple(segments)


_NOTICE_LEADS = NOTICE_REPLY_LEADS


def notice_block(facts: ReplyFacts) -> Block:
    """The team's notices in force, a line each. Every reply carries them, the team's own wording
    too (placed before it, outside the template, so they cost its render budget nothing)."""
    block: Block = []
    for notice in mappings(facts.notices):
        message = " ".join((as_text(notice.get("message")) or "").split())
        if message:
            lead = _NOTICE_LEADS.get(as_text(notice.get("level")) or "", _NOTICE_LEADS["info"])
            block.append((False, (lead, *linkify(message))))
    return block


def default_subject(facts: ReplyFacts) -> str:
    name = one_line(facts.team_name)
    return f"We've received your message — {name}" if name else "We've received your message"


def default_blocks(facts: ReplyFacts) -> list[Block]:
    name = one_line(facts.team_name) or "the team"
    blocks: list[Block] = [
        [(False, ("Hello,",))],
        [(False, (f"Thanks for getting in touch with {name} — we've received your message.",))],
    ]
    notices = notice_block(facts)
    if notices:
        blocks.append(notices)
    blocks.append(_timing_block(facts))
    services = [line for line in map(_service_line, mappings(facts.services)) if line]
    if services:
        blocks.append([(False, ("What we help with:",))] + [(True, line) for line in services])
    elif facts.summary and facts.summary.strip():
        blocks.append([(False, ("What we help with: ", *linkify(_sentence(facts.summary))))])
    booking = _booking_segments(facts.booking, "To book")
    if booking:
        blocks.append([(False, tuple(booking))])
    if facts.escalation and facts.escalation.strip():
        blocks.append([(False, ("If it's urgent: ", *linkify(_sentence(facts.escalation))))])
    contacts = [line for line in map(_contact_line, mappings(facts.contacts)) if line]
    if contacts:
        blocks.append([(False, ("Other ways to reach us:",))] + [(True, line) for line in contacts])
    return blocks + _closing_blocks(name, facts.team_url)


def _closing_blocks(name: str, team_url: str) -> list[Block]:
    """The sign-off, the note that the reply is automatic, and where to rate the team."""
    footer: list[Segment] = ["This is an automatic reply."]
    if team_url:
        footer += [f" More about {name}: ", Link(team_url, team_url)]
    blocks: list[Block] = [[(False, ("Best wishes,",)), (False, (name,))], [(False, tuple(footer))]]
    if team_url:  # the feedback form asks the reader to sign in; their rating stays anonymous
        rate_url = team_url.rstrip("/") + "/feedback"
        blocks.append([(False, ("How did we do? Once we've helped, tell us: ", Link(rate_url, rate_url)))])
    return blocks


def _contact_line(contact: Mapping[str, Any]) -> Line:
    kind, value = as_text(contact.get("kind")) or "", (as_text(contact.get("value")) or "").strip()
    if not value:
        return ()
    label = one_line(contact.get("label")) or _CONTACT_KINDS.get(kind, kind.capitalize())
    if kind == "email" and is_email(value):
        target: Segment = Link(f"mailto:{value}", value)
    elif kind == "phone" and re.search(r"\d", value):
        target = Link(tel_href(value), value)
    elif kind == "url":
        target = Link(value, value)
    else:
        target = value
    return (f"{label}: ", target) if label else (target,)
