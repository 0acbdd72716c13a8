"""A team's time facts at an instant, in numbers and in words: one computation for the status
endpoint, the team page and the auto-reply, so that they never disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from directory import hours, notices, wording
from directory import status as team_status
from directory.autoreply import ReplyFacts


@dataclass(frozen=True)
class TeamFacts:
    at: datetime
    timezone: str
    reader_tz: str | None
    schedule: hours.Schedule | None
    status: dict[str, Any]
    words: dict[str, Any]
    notices: list[dict[str, Any]] = field(default_factory=list)  # those active at `at`
    notices_change: datetime | None = None  # when a notice next starts or ends: what `at` shows holds until then


def team_facts(data: dict[str, Any], at: datetime, reader_tz: str | None = None,
               schedule: hours.Schedule | None = None) -> TeamFacts:
    timezone = team_status.timezone_of(data)
    if schedule is None:
        schedule = team_status.schedule_of(data)
    status = team_status.numbers(data, at, schedule)
    words = team_status.words(status, timezone, reader_tz, at, schedule)
    listed = data.get("notices")
    return TeamFacts(at=at, timezone=timezone, reader_tz=reader_tz, schedule=schedule, status=status, words=words,
                     notices=notices.active_notices(listed, at, timezone) if listed else [],
                     notices_change=notices.next_change(listed, at, timezone) if listed else None)


URGENT_LABEL = re.compile(
    r"(?<!non-)(?<!non )(?<!not )\burgent|emergenc|out[- ]of[- ]hours|after[- ]?hours|24 ?/ ?7|24 ?hours"
    r"|around the clock|round the clock|on[- ]call",
    re.IGNORECASE,
)


def urgent_contacts(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The contacts that answer when the team is closed: §1 contacts have no hours of their own,
    so an owner says so in the label ("Out-of-hours line", "Urgent issues", "24/7 support")."""
    return [c for c in contacts if c.get("value") and URGENT_LABEL.search(str(c.get("label") or ""))]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def status_json(found: TeamFacts) -> dict[str, Any]:
    """CONTRACT §2's status object, with the wording alongside under `text`."""
    status = found.status
    done_texts = {s["name"]: s.get("done_by_text") for s in found.words.get("services") or []}
    return {
        "open": status["open"],
        "next_open": _iso(status["next_open"]),
        "next_close": _iso(status["next_close"]),
        "reply_by": _iso(status["reply_by"]),
        "services": [
            {"name": s["name"], "done_by": _iso(s["done_by"]), "done_by_text": done_texts.get(s["name"])}
            for s in status["services"]
        ],
        "closed_reason": status.get("closed_reason"),
        "at": _iso(found.at.astimezone(found.schedule.tz) if found.schedule else found.at),
        "timezone": found.timezone,
        "text": {k: v for k, v in found.words.items() if k != "services"},
        "notices": found.notices,
    }


def reply_facts(data: dict[str, Any], found: TeamFacts, team_url: str) -> ReplyFacts:
    """What the auto-reply says, already worded (instants as "Tue 26 Nov, 11:00")."""
    words, status = found.words, found.status

    def when(instant: datetime | None, tz: str | None = None) -> str | None:
        return None if instant is None else wording.format_reply_time(instant, tz or found.timezone, found.at)

    done_by = {s["name"]: s["done_by"] for s in status["services"]}
    services = [
        {
            "name": s["name"],
            "description": s.get("description"),
            "turnaround_text": wording.format_duration(s["turnaround"]) if s.get("turnaround") else None,
            "done_by_text": when(done_by.get(s["name"])),
            "booking": s.get("booking"),
        }
        for s in data.get("services") or []
    ]
    reader_differs = bool(words.get("reply_reader") or words.get("badge_reader"))
    return ReplyFacts(
        team_name=data["name"],
        team_slug=data["slug"],
        team_url=team_url,
        summary=data.get("summary"),
        is_open=status["open"],
        hours_published=found.schedule is not None,
        status_text=words["badge"],
        status_text_reader=words.get("badge_reader"),
        reply_by_text=when(status["reply_by"]),
        reply_by_text_reader=when(status["reply_by"], found.reader_tz) if reader_differs else None,
        response_time_text=wording.format_duration(data["response_time"]) if data.get("response_time") else None,
        services=services,
        booking=data.get("booking"),
        escalation=data.get("escalation"),
        contacts=data.get("contacts") or [],
        timezone=found.timezone,
        status_text_zoned=words.get("badge_zoned"),
        urgent_contacts=urgent_contacts(data.get("contacts") or []),
        notices=[{"message": n["message"], "level": n["level"]} for n in found.notices],
    )
