"""What a team page shows, worked out from the team's document: the hours grid (in the team's and
the reader's time zones), the booking button, one-click contact links, services with their promised
times and the review warning. Pure functions of the document and an instant, so tests need no HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from directory import facts, hours, reviews, vocabulary, wording
from directory import status as team_status
from directory.contacts import chat_href, tel_href

# The default interval, for importers of the old name; the rule itself is `directory.reviews`.
REVIEW_WARNING_DAYS = reviews.DEFAULT_INTERVAL_DAYS
WEEKDAY_ABBR = wording.WEEKDAY_ABBR
WEEKDAY_NAMES = wording.WEEKDAY_NAMES
MONTH_ABBR = wording.MONTH_ABBR

BOOKING_LABELS = vocabulary.BOOKING_ACTIONS
CONTACT_LABELS = vocabulary.CONTACT_LABELS


def reader_timezone(*candidates: str | None) -> str | None:
    """The first candidate that is a time zone this server knows (a bad cookie must not break a page)."""
    for name in candidates:
        if name and not hours.validate_timezone(name):
            return name
    return None


@dataclass
class Interval:
    team: str
    reader: str | None = None


@dataclass
class GridDay:
    date: date
    name: str
    abbr: str
    is_today: bool
    is_past: bool
    intervals: list[Interval]
    holiday: str | None
    closures: list[str]


@dataclass
class Link:
    label: str
    href: str | None
    text: str
    kind: str
    external: bool = False


def holidays_heading(data: dict[str, Any]) -> str:
    """What the team's days off are called: a country's public holidays, or the organisation's
    calendar (whose days are often not public holidays at all, such as a shutdown week)."""
    spec = (data.get("hours") or {}).get("holidays") or {}
    if spec.get("calendar"):
        return "Holidays and organisation closures" if spec.get("country") else "Organisation closures"
    return "Public holidays"


@dataclass
class TeamView:
    data: dict[str, Any]
    now: datetime
    timezone: str
    reader_tz: str | None
    status: dict[str, Any]
    words: dict[str, Any]
    published: bool
    grid: list[GridDay] = field(default_factory=list)
    closures: list[str] = field(default_factory=list)
    holidays: list[tuple[date, str]] = field(default_factory=list)
    holidays_heading: str = "Public holidays"
    booking: dict[str, Any] | None = None
    contacts: list[Link] = field(default_factory=list)
    urgent: list[Link] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    reply_text: str | None = None
    reply_text_reader: str | None = None
    response_time_text: str | None = None
    reviewed: date | None = None
    review_stale: bool = False
    review_interval_days: int = reviews.DEFAULT_INTERVAL_DAYS
    reader_offset_note: str | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)  # active at `now`, each with its `span` in words

    @property
    def reader_differs(self) -> bool:
        return self.reader_tz is not None and self.reader_tz != self.timezone

    @property
    def badge_class(self) -> str:
        return team_status.badge_class(self.published, self.status["open"])


def _clock(dt: datetime) -> str:
    return f"{dt.hour:02d}:{dt.minute:02d}"


def _bound(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def reader_interval(day: date, start: str, end: str, team_tz: ZoneInfo, reader_tz: ZoneInfo) -> str:
    """A team-local interval of `day` as the reader's clock reads it, naming the day when it differs.

    "09:00–17:30" in London reads "04:00–12:30" in New York, and "Mon 22:00–Tue 06:00" when it
    crosses the reader's midnight.
    """
    a = _bound(day, start, team_tz).astimezone(reader_tz)
    b = _bound(day, end, team_tz).astimezone(reader_tz)
    if a.date() == day and b.date() == day:
        return f"{_clock(a)}–{_clock(b)}"
    if a.date() == day and b.date() == day + timedelta(days=1) and (b.hour, b.minute) == (0, 0):
        return f"{_clock(a)}–24:00"
    left = _clock(a) if a.date() == day else f"{WEEKDAY_ABBR[a.weekday()]} {_clock(a)}"
    right = _clock(b) if b.date() == a.date() else f"{WEEKDAY_ABBR[b.weekday()]} {_clock(b)}"
    return f"{left}–{right}"


def hours_grid(schedule: hours.Schedule, now: datetime, reader_tz: str | None) -> list[GridDay]:
    team_zone = schedule.tz
    today = now.astimezone(team_zone).date()
    reader_zone = ZoneInfo(reader_tz) if reader_tz and reader_tz != str(team_zone) else None
    days = []
    for day in schedule.week(today):
        intervals = [
            Interval(
                team=f"{start}–{end}",
                reader=reader_interval(day.date, start, end, team_zone, reader_zone) if reader_zone else None,
            )
            for start, end in day.intervals
        ]
        index = day.date.weekday()
        days.append(GridDay(
            date=day.date, name=WEEKDAY_NAMES[index], abbr=WEEKDAY_ABBR[index], is_today=day.date == today,
            is_past=day.date < today, intervals=intervals, holiday=day.holiday, closures=list(day.closures),
        ))
    return days


def _day_words(d: date, with_year: bool) -> str:
    text = f"{WEEKDAY_ABBR[d.weekday()]} {d.day} {MONTH_ABBR[d.month - 1]}"
    return f"{text} {d.year}" if with_year else text


def closure_text(closure: dict[str, Any], today: date) -> str:
    """'Thu 24 Dec – Sat 26 Dec: Office closed' or 'Fri 27 Nov, 13:00–17:30: Team training'."""
    start, end = str(closure["start"]), str(closure["end"])
    reason = closure.get("reason")
    if "T" in start:
        a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
        with_year = a.year != today.year
        if a.date() == b.date():
            when = f"{_day_words(a.date(), with_year)}, {_clock(a)}–{_clock(b)}"
        else:
            when = f"{_day_words(a.date(), with_year)} {_clock(a)} – {_day_words(b.date(), b.year != today.year)} {_clock(b)}"
    else:
        a_d, b_d = date.fromisoformat(start), date.fromisoformat(end)
        with_year = a_d.year != today.year or b_d.year != today.year
        when = _day_words(a_d, with_year) if a_d == b_d else f"{_day_words(a_d, with_year)} – {_day_words(b_d, with_year)}"
    return f"{when}: {reason}" if reason else when


def contact_link(contact: dict[str, Any], chat_url: str = "") -> Link:
    kind, value = contact.get("kind", ""), str(contact.get("value", ""))
    label = contact.get("label") or CONTACT_LABELS.get(kind, kind.capitalize())
    if kind == "email":
        return Link(label, f"mailto:{value}", value, kind)
    if kind == "phone":
        return Link(label, tel_href(value), value, kind)
    if kind == "url":
        return Link(label, value, re.sub(r"^https?://", "", value).rstrip("/"), kind, external=True)
    if kind == "chat":
        href = chat_href(value, chat_url)
        return Link(label, href, value, kind, external=href is not None)
    return Link(label, None, value, kind)


def _first(contacts: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((c for c in contacts if c.get("kind") == kind), None)


def booking_action(booking: dict[str, Any] | None, contacts: list[dict[str, Any]], chat_url: str = "",
                   location: str | None = None) -> dict[str, Any] | None:
    """The booking button: its label, where it goes, and the instructions beside it."""
    if not booking:
        return None
    method = booking.get("method") or ""
    href = booking.get("url")
    if not href and method in {"email", "phone", "chat"}:
        contact = _first(contacts, {"email": "email", "phone": "phone", "chat": "chat"}[method])
        if contact is not None:
            href = contact_link(contact, chat_url).href
    label = BOOKING_LABELS.get(method, "Get in touch")
    return {
        "method": method,
        "label": label,
        "href": href,
        "external": bool(href and href.startswith("http")),
        "instructions": booking.get("instructions"),
        "location": location if method == "walk_in" else None,
    }


def build_team_view(data: dict[str, Any], now: datetime, reader_tz: str | None, chat_url: str = "",
                    review_policy: reviews.Policy | None = None) -> TeamView:
    found = facts.team_facts(data, now, reader_tz)
    timezone, schedule = found.timezone, found.schedule
    reader_tz = reader_timezone(reader_tz)
    view = TeamView(
        data=data, now=now, timezone=timezone, reader_tz=reader_tz, status=found.status, words=found.words,
        published=schedule is not None,
    )
    view.notices = [dict(n, span=wording.notice_span(n, timezone, now)) for n in found.notices]
    contacts = data.get("contacts") or []
    today = now.astimezone(ZoneInfo(timezone)).date()
    if schedule is not None:
        view.grid = hours_grid(schedule, now, view.reader_tz)
        view.closures = [closure_text(c, today) for c in schedule.upcoming_closures(now)]
        view.holidays = schedule.upcoming_holidays(today, 3)
        view.holidays_heading = holidays_heading(data)
    reply_by = found.status.get("reply_by")
    if reply_by is not None:
        view.reply_text = wording.format_reply_time(reply_by, timezone, now)
        if view.reader_differs:
            reader_text = wording.format_reply_time(reply_by, view.reader_tz, now)
            view.reply_text_reader = reader_text if reader_text != view.reply_text else None
    if data.get("response_time"):
        view.response_time_text = wording.format_duration(data["response_time"])
    view.booking = booking_action(data.get("booking"), contacts, chat_url, data.get("location"))
    view.contacts = [contact_link(c, chat_url) for c in contacts]
    if view.published and not found.status["open"]:  # beside "Closed", so nobody reads the 24/7 line as closed too
        view.urgent = [contact_link(c, chat_url) for c in facts.urgent_contacts(contacts)]
    done = found.words.get("services") or []
    for i, service in enumerate(data.get("services") or []):
        view.services.append({
            "name": service.get("name"),
            "description": service.get("description"),
            "turnaround": wording.format_duration(service["turnaround"]) if service.get("turnaround") else None,
            "done_by": done[i].get("done_by_text") if i < len(done) else None,
            "booking": booking_action(service.get("booking"), contacts, chat_url, data.get("location")),
        })
    try:
        view.reviewed = date.fromisoformat(data["last_reviewed"]) if data.get("last_reviewed") else None
    except ValueError:
        view.reviewed = None
    view.review_stale = (review_policy or reviews.Policy()).is_due(data, today)
    view.review_interval_days = (review_policy or reviews.Policy()).interval_days
    if view.reader_differs:
        view.reader_offset_note = offset_note(timezone, view.reader_tz, now)
    return view


def offset_note(team_tz: str, reader_tz: str, now: datetime) -> str:
    """'5 hours behind the team' / '5 h 30 min ahead of the team' / 'the same time as the team'."""
    team_off = now.astimezone(ZoneInfo(team_tz)).utcoffset() or timedelta()
    reader_off = now.astimezone(ZoneInfo(reader_tz)).utcoffset() or timedelta()
    minutes = int((reader_off - team_off).total_seconds() // 60)
    if minutes == 0:
        return "the same time as the team"
    h, m = divmod(abs(minutes), 60)
    amount = f"{h} hour{'s' if h != 1 else ''}" if not m else f"{h} h {m} min"
    return f"{amount} {'ahead of' if minutes > 0 else 'behind'} the team"


def badge_for(data: dict[str, Any], now: datetime, reader_tz: str | None = None) -> tuple[str, str]:
    """(text, css class) of a team's badge in lists and search results: `directory.status.badge`."""
    return team_status.badge(data, now, reader_tz)
