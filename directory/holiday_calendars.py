"""Organisation holiday calendars: ICS files an administrator uploads (or a command fetches) whose
days close the teams that select them (`hours.holidays.calendar = "org:<slug>"`) like public
holidays do.

Parsing and storing are plain functions of a session (no Flask); `CalendarStore` hands the stored
calendars to the hours engine as data (`hours.OrgCalendar`) through the engine's lookup seam, so
status, reply-by, auto-replies and calendar feeds all see the same days. A URL is fetched only
by a command (`directory holiday-calendar add NAME URL`), never while a page is being served.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from directory import hours
from directory.errors import Conflict, InvalidTeam, NotFound
from directory.models import HolidayCalendar, Team, utcnow

if TYPE_CHECKING:
    from flask import Flask

MAX_ICS_BYTES = 2 * 1024 * 1024
MAX_DAYS = 20_000
"""Days one calendar may hold (a daily rule without an end would otherwise never stop)."""
LAST_YEAR = 2200
REFRESH_SECONDS = 2.0
"""How long a process trusts its copy of the calendars before asking the database again."""
FETCH_TIMEOUT = 20


class InvalidHolidayCalendar(InvalidTeam):
    """An ICS file that cannot serve as a holiday calendar; `errors` says why, by field."""


class UnknownHolidayCalendar(InvalidTeam):
    """A team names an organisation holiday calendar that does not exist."""


def calendar_name(slug: str) -> str:
    """How teams name the calendar in `hours.holidays.calendar`."""
    return f"org:{slug}"


# --------------------------------------------------------------------------- parsing


def parse_ics(content: bytes | str) -> dict[date, str]:
    """The closed dates of an ICS file and each one's name (the event's SUMMARY).

    All-day events close each date from DTSTART up to DTEND (exclusive); timed events close the
    local dates they touch; RRULEs are expanded (up to MAX_DAYS days in all, until 2200).
    Raises InvalidHolidayCalendar with a message fit for the person who chose the file.
    """
    import icalendar
    from dateutil.rrule import rrulestr

    if isinstance(content, bytes):
        if len(content) > MAX_ICS_BYTES:
            raise _invalid(f"the file is larger than {MAX_ICS_BYTES // (1024 * 1024)} MiB")
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _invalid("the file is not UTF-8 text, so it is not an iCalendar (.ics) file") from exc
    if "BEGIN:VCALENDAR" not in content.upper():
        raise _invalid("the file is not an iCalendar (.ics) file: it has no BEGIN:VCALENDAR")
    try:
        calendar = icalendar.Calendar.from_ical(content)
        events = list(calendar.walk("VEVENT"))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise _invalid(f"the iCalendar file cannot be read: {exc}") from exc
    if not events:
        raise _invalid("the iCalendar file holds no events (VEVENT), so it closes no day")
    days: dict[date, str] = {}
    for number, event in enumerate(events, 1):
        label = f"event {number}" + (f" ({event.get('SUMMARY')})" if event.get("SUMMARY") else "")
        try:
            start = event.decoded("DTSTART")
        except (KeyError, ValueError, TypeError) as exc:
            raise _invalid(f"{label} has no valid start (DTSTART)") from exc
        try:
            end = event.decoded("DTEND") if "DTEND" in event else None
            if end is None and "DURATION" in event:
                end = start + event.decoded("DURATION")
        except (KeyError, ValueError, TypeError) as exc:
            raise _invalid(f"{label} has an invalid end (DTEND or DURATION)") from exc
        if not isinstance(start, date):
            raise _invalid(f"{label} has no valid start (DTSTART)")
        length = _length(start, end)
        if length is None:
            raise _invalid(f"{label} ends before it starts")
        name = str(event.get("SUMMARY") or "Organisation holiday").strip() or "Organisation holiday"
        starts = [start]
        if "RRULE" in event:
            try:
                rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=_naive(start), cache=False)
            except (ValueError, TypeError) as exc:
                raise _invalid(f"{label} has a repeat rule (RRULE) that cannot be read: {exc}") from exc
            starts = []
            limit = datetime(LAST_YEAR, 12, 31)
            for occurrence in rule:
                if occurrence > limit or len(starts) > MAX_DAYS:
                    break
                starts.append(occurrence.date() if not isinstance(start, datetime) else occurrence)
        for first in starts:
            for day in _dates(first, length):
                days.setdefault(day, name)
                if len(days) > MAX_DAYS:
                    raise _invalid(f"the calendar closes more than {MAX_DAYS:,} days")
    return days


def _invalid(message: str) -> InvalidHolidayCalendar:
    return InvalidHolidayCalendar(f"Not a usable holiday calendar: {message}.", {"file": [message]})


def _naive(value: date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, datetime.min.time())


def _length(start: date, end: date | None) -> timedelta | None:
    """The event's length, None when it ends before it starts; an all-day event without an
    end lasts its one day, a timed one is an instant."""
    if end is None:
        return timedelta(days=1) if not isinstance(start, datetime) else timedelta()
    if isinstance(start, datetime) != isinstance(end, datetime):
        end = _naive(end) if isinstance(start, datetime) else end.date()  # type: ignore[union-attr]
        start_cmp, end_cmp = (_naive(start), end) if isinstance(start, datetime) else (start, end)
        length = end_cmp - start_cmp  # type: ignore[operator]
    else:
        length = (_naive(end) - _naive(start)) if isinstance(start, datetime) else end - start
    if length < timedelta():
        return None
    if not isinstance(start, datetime) and length == timedelta():
        return timedelta(days=1)
    return length


def _dates(first: date, length: timedelta) -> list[date]:
    if isinstance(first, datetime):
        last = (first + length - timedelta(microseconds=1)) if length else first
        span = (last.date() - first.date()).days
        return [first.date() + timedelta(days=i) for i in range(min(span, MAX_DAYS) + 1)]
    return [first + timedelta(days=i) for i in range(min(length.days, MAX_DAYS + 1))]


def fetch(url: str) -> bytes:
    """An ICS file from a URL (http, https); for commands only, never during a request."""
    if not url.lower().startswith(("http://", "https://")):
        raise _invalid("the address must start with http:// or https://")
    request = urllib.request.Request(url, headers={"User-Agent": "directory-holiday-calendar"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # the scheme is checked above
            body = response.read(MAX_ICS_BYTES + 1)
    except OSError as exc:
        raise _invalid(f"{url} could not be fetched: {exc}") from exc
    return body


# --------------------------------------------------------------------------- storing


def list_calendars(session: Session) -> list[HolidayCalendar]:
    return list(session.scalars(select(HolidayCalendar).order_by(HolidayCalendar.name)))


def get_calendar(session: Session, slug: str) -> HolidayCalendar:
    found = session.scalar(select(HolidayCalendar).where(HolidayCalendar.slug == slug))
    if found is None:
        raise NotFound(f"There is no holiday calendar '{slug}'.")
    return found


def save_calendar(session: Session, name: str, content: bytes | str, *, slug: str | None = None,
                  source_url: str | None = None) -> HolidayCalendar:
    """Create or replace (by slug, derived from the name when absent) a calendar from ICS content.

    The file is parsed before anything is stored: an invalid file changes nothing. A replacement
    whose days differ gets a new version, so that every cached answer of its teams is refreshed.
    """
    from directory.services import slugify

    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidHolidayCalendar("A holiday calendar needs a name of 1 to 200 characters.",
                                     {"name": ["must be 1 to 200 characters"]})
    slug = slug or slugify(name)
    if not hours.ORG_CALENDAR_RE.fullmatch(calendar_name(slug)) or len(slug) > 80:
        raise InvalidHolidayCalendar(f"'{slug}' cannot name a calendar: use lowercase letters, digits and hyphens.",
                                     {"name": ["must contain letters or digits"]})
    days = {day.isoformat(): label for day, label in sorted(parse_ics(content).items())}
    existing = session.scalar(select(HolidayCalendar).where(HolidayCalendar.slug == slug))
    if existing is None:
        existing = HolidayCalendar(slug=slug, name=name, source_url=source_url, days=days, version=1)
        session.add(existing)
    else:
        if existing.days != days:
            existing.version += 1
            existing.days = days
        existing.name, existing.source_url = name, source_url or existing.source_url
        existing.updated_at = utcnow()
    session.flush()
    return existing


def teams_using(session: Session, slug: str) -> list[Team]:
    """The teams (archived ones too: they may be restored) whose hours select the calendar."""
    name = calendar_name(slug)
    return [team for team in session.scalars(select(Team).order_by(Team.name)) if selected_calendar(team.data) == name]


def delete_calendar(session: Session, slug: str) -> None:
    """Remove a calendar no team selects; refused (Conflict) while any does."""
    calendar = get_calendar(session, slug)
    users = teams_using(session, slug)
    if users:
        names = ", ".join(team.name for team in users[:5]) + (" and others" if len(users) > 5 else "")
        raise Conflict(f"{calendar.name} is still selected by {names}: change their holidays first.")
    session.delete(calendar)
    session.flush()


def selected_calendar(data: Mapping[str, Any] | None) -> str | None:
    """The organisation calendar a team document names, if any."""
    hours_data = (data or {}).get("hours")
    spec = hours_data.get("holidays") if isinstance(hours_data, Mapping) else None
    name = spec.get("calendar") if isinstance(spec, Mapping) else None
    return name if isinstance(name, str) else None


def check_selected(session: Session, data: Mapping[str, Any], before: Mapping[str, Any] | None = None) -> None:
    """Refuse a document naming an organisation calendar that does not exist (unless it named
    that same calendar already, so stored data never blocks an unrelated save)."""
    name = selected_calendar(data)
    if name is None or name == selected_calendar(before):
        return
    match = hours.ORG_CALENDAR_RE.fullmatch(name)
    if match and session.scalar(select(HolidayCalendar.id).where(HolidayCalendar.slug == match.group(1))):
        return
    raise UnknownHolidayCalendar(f"There is no organisation holiday calendar '{name}'.",
                                 {"hours.holidays.calendar": [f"no organisation holiday calendar {name!r}; "
                                                              "an administrator adds them under Holiday calendars"]})


# --------------------------------------------------------------------------- serving to the engine


class CalendarStore:
    """One process's copy of the calendars as engine data, checked against the database at most
    every REFRESH_SECONDS (a calendar changed on another server shows within that time) and
    at once after `invalidate` (a change made by this process)."""

    def __init__(self, factory: sessionmaker[Session], clock: Any = time.monotonic) -> None:
        self._factory = factory
        self._clock = clock
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._calendars: dict[str, hours.OrgCalendar] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._checked = float("-inf")

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._checked < REFRESH_SECONDS:
            return
        with self._factory() as session:
            current = dict(session.execute(select(HolidayCalendar.slug, HolidayCalendar.version)).all())
            stale = [slug for slug, version in current.items()
                     if (cached := self._calendars.get(calendar_name(slug))) is None or cached.version != version]
            loaded = {}
            if stale:
                for slug, version, days in session.execute(
                        select(HolidayCalendar.slug, HolidayCalendar.version, HolidayCalendar.days)
                        .where(HolidayCalendar.slug.in_(stale))):
                    loaded[calendar_name(slug)] = hours.OrgCalendar(
                        calendar_name(slug), version, {date.fromisoformat(d): n for d, n in days.items()})
        names = {calendar_name(slug) for slug in current}
        self._calendars = {n: c for n, c in self._calendars.items() if n in names} | loaded
        self._checked = now

    def lookup(self, name: str) -> hours.OrgCalendar | None:
        with self._lock:
            self._refresh()
            return self._calendars.get(name)

    def stamp(self) -> tuple[tuple[str, int], ...]:
        """Every calendar's (name, version): part of the keys of caches whose answers use them."""
        with self._lock:
            self._refresh()
            return tuple(sorted((n, c.version) for n, c in self._calendars.items()))


_thread_store: CalendarStore | None = None


def serve_threads(app: Flask) -> None:
    """For a long-running command whose worker threads run without an app context (the mail
    responder): the engine reads this app's calendars there too."""
    global _thread_store
    _thread_store = app.extensions["holiday_calendars"]


def _active_store() -> CalendarStore | None:
    from flask import current_app, has_app_context  # the binding to an app; parsing and storing need no Flask

    if has_app_context():
        return current_app.extensions.get("holiday_calendars")
    return _thread_store


def _current_lookup(name: str) -> hours.OrgCalendar | None:
    store = _active_store()
    return store.lookup(name) if store is not None else None


def init_app(app: Flask) -> None:
    """Serve this app's calendars to the hours engine in its requests and commands."""
    app.extensions["holiday_calendars"] = CalendarStore(app.extensions["directory_db"].sessionmaker)
    hours.set_org_calendar_lookup(_current_lookup)


def store() -> CalendarStore:
    """The current app's store (call `invalidate` on it after changing a calendar)."""
    from flask import current_app

    return current_app.extensions["holiday_calendars"]


def stamp() -> tuple[tuple[str, int], ...]:
    """The calendar versions of the current app (or of `serve_threads`' app); () for none."""
    found = _active_store()
    return found.stamp() if found is not None else ()


# --------------------------------------------------------------------------- commands


def cli_group() -> Any:
    """`directory holiday-calendar add|list|delete`: the way to follow a calendar published at a
    URL (run `add` again, e.g. daily from cron, to pick up its changes)."""
    import click
    from flask.cli import with_appcontext

    from directory.db import get_session
    from directory.errors import DirectoryError

    @click.group("holiday-calendar")
    def group() -> None:
        """Organisation holiday calendars that teams select as org:<slug>."""

    @group.command("add")
    @click.argument("name")
    @click.argument("source")
    @click.option("--slug", help="the name teams use after 'org:' (default: from NAME)")
    @with_appcontext
    def add(name: str, source: str, slug: str | None) -> None:
        """Add or replace calendar NAME from SOURCE, an .ics file or an http(s) URL."""
        session = get_session()
        try:
            if source.lower().startswith(("http://", "https://")):
                content, url = fetch(source), source
            else:
                try:
                    with open(source, "rb") as handle:
                        content, url = handle.read(MAX_ICS_BYTES + 1), None
                except OSError as exc:
                    raise click.ClickException(f"cannot read {source}: {exc.strerror}") from exc
            calendar = save_calendar(session, name, content, slug=slug, source_url=url)
            session.commit()
        except DirectoryError as exc:
            session.rollback()
            raise click.ClickException(exc.message) from exc
        click.echo(f"{calendar.name}: {len(calendar.days)} days, version {calendar.version}; "
                   f"teams select it as {calendar_name(calendar.slug)}")

    @group.command("list")
    @with_appcontext
    def list_command() -> None:
        """Every calendar, its days and the teams that use it."""
        session = get_session()
        for calendar in list_calendars(session):
            users = ", ".join(t.slug for t in teams_using(session, calendar.slug)) or "no team"
            click.echo(f"{calendar_name(calendar.slug)}\t{calendar.name}\t{len(calendar.days)} days\t{users}")

    @group.command("delete")
    @click.argument("slug")
    @with_appcontext
    def delete(slug: str) -> None:
        """Delete a calendar that no team selects."""
        session = get_session()
        try:
            delete_calendar(session, slug.removeprefix("org:"))
            session.commit()
        except DirectoryError as exc:
            session.rollback()
            raise click.ClickException(exc.message) from exc
        click.echo(f"Deleted {slug}.")

    return group
