"""Promises kept: requests a team received, judged against what its page promised when each arrived.

A request's promises (`reply_by`, `done_by`) are computed once, when it is recorded, by the one
status policy behind `/status` (`directory.status`: the hours engine) from the team's revision in force
at `received_at`: the time zone, hours, holidays and closures of that moment. They are stored with
the event's verdict, so a later edit of the team never rewrites a past judgement, and measuring a
window is one grouped query over the (team_id, received_at) index.

Judging "as of `until`" (exclusive, like the window): an event counts once it has happened before
then (kept when at or before its promise); a promise whose instant passed before `until` without its
event is not kept; a promise still ahead with no event is not measured yet. Each row therefore
stores its verdict with the instant it became known (`*_settled_us`: the event's when in time, else
the promise's), and a promise is measured as of `until` exactly when that instant is before it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory import hours, queries, status
from directory.errors import Forbidden, Invalid
from directory.models import Revision, ServiceRequest, SlugAlias, Team, utcnow
from directory.services import Actor

DEFAULT_WINDOW = timedelta(days=90)
# Below this many measured promises a percentage says more about chance than about the team.
MIN_MEASURED = 10
MAX_ID_LENGTH = 200


class InvalidRequest(Invalid):
    """A reported request that cannot be recorded; `errors` maps each field to its problems."""


@dataclass(frozen=True)
class Report:
    """What an integration says happened to one request (instants aware, or naive = team's local time)."""

    id: str
    received_at: datetime
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None
    service: str | None = None


def _aware(instant: datetime | None, zone: ZoneInfo) -> datetime | None:
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=zone)


def timezone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


class Promiser:
    """A team's promises at any instant, from the revision then in force (the first one for instants
    before the team existed). Loads each revision's document once, and builds its schedule once."""

    def __init__(self, session: Session, team: Team) -> None:
        self.session, self.team = session, team
        rows = session.execute(
            select(Revision.number, Revision.created_at).where(Revision.team_id == team.id).order_by(Revision.number)
        ).all()
        self._numbers = [r.number for r in rows]
        self._starts = [r.created_at for r in rows]
        self._documents: dict[int, dict[str, Any]] = {}
        self._schedules: dict[int, hours.Schedule | None] = {}

    def revision_at(self, at: datetime) -> tuple[int, dict[str, Any]]:
        """The revision in force at `at` (its number and document)."""
        if not self._numbers:  # a team always has a revision; tolerate rows written around the services
            return 0, self.team.data
        index = max(bisect.bisect_right(self._starts, at) - 1, 0)
        number = self._numbers[index]
        if number not in self._documents:
            self._documents[number] = queries.revision_data(self.session, self.team.id, number) or {}
        return number, self._documents[number]

    def _schedule(self, number: int, data: dict[str, Any]) -> hours.Schedule | None:
        if number not in self._schedules:
            self._schedules[number] = status.schedule_of(data)
        return self._schedules[number]

    def service_names(self, at: datetime) -> dict[str, str]:
        """Service names the team offered at `at` or offers now, by their folded form."""
        _number, then = self.revision_at(at)
        names: dict[str, str] = {}
        for document in (self.team.data, then):
            for service in document.get("services") or []:
                if isinstance(service, Mapping) and isinstance(service.get("name"), str):
                    names[_key(service["name"])] = service["name"]
        return names

    def promises(self, at: datetime, service: str | None) -> dict[str, Any]:
        """reply_by and done_by at `at`, exactly as `/status?at=` answered then, with the week key."""
        number, data = self.revision_at(at)
        offered = [s for s in data.get("services") or [] if isinstance(s, Mapping)]
        wanted = [s for s in offered if service is not None and _key(str(s.get("name") or "")) == _key(service)]
        found = status.numbers({**data, "services": wanted[:1]}, at, self._schedule(number, data))
        local = at.astimezone(timezone_of(status.timezone_of(data)))
        return {
            "reply_by": found["reply_by"],
            "done_by": found["services"][0]["done_by"] if wanted else None,
            "week": local.date() - timedelta(days=local.weekday()),
            "revision_number": number,
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(instant: datetime | None) -> int | None:
    """Microseconds since 1970 (exact: no rounding), for the integer columns the measuring reads."""
    if instant is None:
        return None
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _verdict(promise: datetime | None, event: datetime | None) -> tuple[bool | None, datetime | None]:
    """Kept or not, and the instant that became known; (None, None) without a promise."""
    if promise is None:
        return None, None
    if event is not None and event <= promise:
        return True, event
    return False, promise


def _checked(report: Report, promiser: Promiser, zone: ZoneInfo) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """The row to store for a report, or the problems by field (nothing is written for those)."""
    errors: dict[str, list[str]] = {}
    external_id = report.id.strip() if isinstance(report.id, str) else ""
    if not external_id:
        errors["id"] = ["is required"]
    elif len(external_id) > MAX_ID_LENGTH:
        errors["id"] = [f"must be at most {MAX_ID_LENGTH} characters"]
    received_at = _aware(report.received_at, zone)
    if received_at is None:
        errors["received_at"] = ["is required"]
        return None, errors
    first_reply_at, resolved_at = _aware(report.first_reply_at, zone), _aware(report.resolved_at, zone)
    if first_reply_at is not None and first_reply_at < received_at:
        errors["first_reply_at"] = ["must not be before received_at"]
    if resolved_at is not None and resolved_at < received_at:
        errors["resolved_at"] = ["must not be before received_at"]
    service = report.service.strip() if report.service else None
    if service:
        names = promiser.service_names(received_at)
        if _key(service) not in names:
            offered = ", ".join(sorted(set(names.values()))) or "none"
            errors["service"] = [f"{promiser.team.name} offers no service {service!r} (its services: {offered})"]
        else:
            service = names[_key(service)]
    if errors:
        return None, errors
    promised = promiser.promises(received_at, service)
    reply_by, done_by = promised["reply_by"], promised["done_by"]
    reply_kept, reply_settled_at = _verdict(reply_by, first_reply_at)
    done_kept, done_settled_at = _verdict(done_by, resolved_at)
    return {
        "team_id": promiser.team.id,
        "external_id": external_id,
        "received_at": received_at,
        "first_reply_at": first_reply_at,
        "resolved_at": resolved_at,
        "service": service or None,
        "reply_by": reply_by,
        "done_by": done_by,
        "reply_kept": reply_kept,
        "reply_settled_us": epoch_us(reply_settled_at),
        "done_kept": done_kept,
        "done_settled_us": epoch_us(done_settled_at),
        "received_us": epoch_us(received_at),
        "week": promised["week"],
        "revision_number": promised["revision_number"],
    }, {}


def _authorise(team: Team, actor: Actor) -> None:
    if not actor.may_edit(team.data):
        raise Forbidden(f"You may not report requests for {team.name}: only its owners and administrators can.")


def record_request(session: Session, team: Team, report: Report, actor: Actor) -> tuple[ServiceRequest, bool]:
    """Record a request the team received, or update the one with the same id: (row, created).

    The caller commits. Raises InvalidRequest (422) naming each bad field, with nothing written.
    """
    _authorise(team, actor)
    promiser = Promiser(session, team)
    row, errors = _checked(report, promiser, timezone_of(team.timezone))
    if errors or row is None:
        raise InvalidRequest("The request cannot be recorded: " + "; ".join(
            f"{field}: {', '.join(messages)}" for field, messages in errors.items()), errors)
    same_id = select(ServiceRequest).where(
        ServiceRequest.team_id == team.id, ServiceRequest.external_id == row["external_id"])
    existing = session.scalar(same_id)
    if existing is None:
        try:
            with session.begin_nested():  # another worker may record the same id at this moment
                existing = ServiceRequest(**row, recorded_at=utcnow(), updated_at=utcnow())
                session.add(existing)
            return existing, True
        except IntegrityError:
            existing = session.scalars(same_id).one()  # theirs won: this report updates it
    changed = {k: v for k, v in row.items() if getattr(existing, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(existing, key, value)
        existing.updated_at = utcnow()
        session.flush()
    return existing, False


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


_COMPARED = ("received_at", "first_reply_at", "resolved_at", "service", "reply_by", "done_by",
             "reply_kept", "reply_settled_us", "done_kept", "done_settled_us", "received_us", "week",
             "revision_number")


def import_requests(
    session: Session,
    lines: Sequence[tuple[int, str, Report]],
    actor: Actor,
    *,
    progress: Callable[[int], Any] | None = None,
) -> ImportResult:
    """Record many requests (line number, team slug, report), all or nothing.

    Every line is checked before anything is written; the problems of every line are raised
    together as `InvalidRequest` with errors keyed "line N: field". A later line with the same team
    and id updates the earlier one, as a second POST would. Rows are written in bulk.
    """
    wanted = {slug for _, slug, _ in lines}
    teams = {t.slug: t for t in session.scalars(select(Team).where(Team.slug.in_(wanted)))}
    moved = wanted - set(teams)
    if moved:  # an export made before a team was renamed still names its old slug
        for alias, found in session.execute(
                select(SlugAlias.slug, Team).join(Team, SlugAlias.team_id == Team.id).where(SlugAlias.slug.in_(moved))):
            teams[alias] = found
    promisers: dict[int, Promiser] = {}
    errors: dict[str, list[str]] = {}
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    refused: set[str] = set()
    for number, slug, report in lines:
        if progress is not None:
            progress(1)
        team = teams.get(slug)
        if team is None or team.archived:
            errors[f"line {number}: team"] = [f"no team with the slug {slug!r}" if slug else "is required"]
            continue
        if not actor.may_edit(team.data):
            if slug not in refused:
                errors[f"line {number}: team"] = [f"you may not report requests for {team.name}"]
                refused.add(slug)
            continue
        promiser = promisers.get(team.id) or promisers.setdefault(team.id, Promiser(session, team))
        row, problems = _checked(report, promiser, timezone_of(team.timezone))
        for field, messages in problems.items():
            errors[f"line {number}: {field}"] = messages
        if row is not None:
            rows[(team.id, row["external_id"])] = row
    if errors:
        raise InvalidRequest(f"Nothing was imported: {len(errors)} problem(s).", errors)

    result = ImportResult()
    existing: dict[tuple[int, str], Any] = {}
    for team_id in {team_id for team_id, _ in rows}:
        ids = [external_id for tid, external_id in rows if tid == team_id]
        for start in range(0, len(ids), 500):
            for found in session.execute(
                select(ServiceRequest.id, ServiceRequest.external_id, *(getattr(ServiceRequest, c) for c in _COMPARED))
                .where(ServiceRequest.team_id == team_id, ServiceRequest.external_id.in_(ids[start:start + 500]))
            ):
                existing[(team_id, found.external_id)] = found
    now = utcnow()
    new, changed = [], []
    for key, row in rows.items():
        old = existing.get(key)
        if old is None:
            new.append({**row, "recorded_at": now, "updated_at": now})
        elif any(getattr(old, c) != row[c] for c in _COMPARED):
            changed.append({**{c: row[c] for c in _COMPARED}, "id": old.id, "updated_at": now})
        else:
            result.unchanged += 1
    table = ServiceRequest.__table__
    for start in range(0, len(new), 5000):  # Core executemany: no primary keys fetched back
        session.connection().execute(insert(table), new[start:start + 5000])
    if changed:
        session.execute(update(ServiceRequest), changed)
    result.created, result.updated = len(new), len(changed)
    return result


# --------------------------------------------------------------------------- measuring


def default_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    until = now or utcnow()
    return until - DEFAULT_WINDOW, until


def _tallies(until: datetime) -> list[Any]:
    """Four sums over the rows of a group: reply measured and kept, resolution measured and kept."""
    r = ServiceRequest

    until_us = epoch_us(until)

    def measured(settled_us: Any) -> Any:
        return func.coalesce(func.sum(case((settled_us < until_us, 1), else_=0)), 0)

    def kept(settled_us: Any, verdict: Any) -> Any:
        return func.coalesce(func.sum(case((and_(settled_us < until_us, verdict.is_(True)), 1), else_=0)), 0)

    return [
        func.count().label("requests"),
        measured(r.reply_settled_us).label("reply_measured"),
        kept(r.reply_settled_us, r.reply_kept).label("reply_kept"),
        measured(r.done_settled_us).label("done_measured"),
        kept(r.done_settled_us, r.done_kept).label("done_kept"),
    ]


def _monday(instant: datetime, days: int) -> date:
    day = instant.astimezone(UTC).date() + timedelta(days=days)
    return day - timedelta(days=day.weekday())


def _window(stmt: Select[Any], team: Team, since: datetime, until: datetime) -> Select[Any]:
    """Requests received in [since, until). The `week` bounds (a week wider on each side than any
    zone's local date can stray from UTC) change no answer: they let the covering index, which
    leads with the week, serve the query in its grouping order."""
    return stmt.where(ServiceRequest.team_id == team.id, ServiceRequest.week >= _monday(since, -7),
                      ServiceRequest.week <= _monday(until, 7), ServiceRequest.received_us >= epoch_us(since),
                      ServiceRequest.received_us < epoch_us(until))


def _outcome(measured: int, kept: int) -> dict[str, Any]:
    measured, kept = int(measured or 0), int(kept or 0)
    return {"measured": measured, "kept": kept, "kept_ratio": round(kept / measured, 4) if measured else None}


def satisfaction(session: Session, team: Team, since: datetime, until: datetime) -> dict[str, Any]:
    """What colleagues said (`directory.feedback`, when that module is installed)."""
    try:
        from directory.feedback import satisfaction as rated  # type: ignore[attr-defined]
    except ImportError:
        return {"responses": 0, "average": None}
    return rated(session, team, since, until)


Tally = tuple[int, int, int, int, int]  # requests, reply measured, reply kept, done measured, done kept


def _groups(session: Session, team: Team, since: datetime, until: datetime) -> list[tuple[date, str | None, Tally]]:
    """The window's tallies by (week, service): one grouped query, read from the covering index;
    totals, services and weeks are all sums of these groups."""
    stmt = _window(select(ServiceRequest.week, ServiceRequest.service, *_tallies(until)), team, since, until)
    rows = session.execute(stmt.group_by(ServiceRequest.week, ServiceRequest.service)).all()
    return [(row[0], row[1], tuple(int(v or 0) for v in row[2:])) for row in rows]  # type: ignore[misc]


def _add(into: dict[Any, list[int]], key: Any, tally: Tally) -> None:
    sums = into.setdefault(key, [0, 0, 0, 0, 0])
    for i, value in enumerate(tally):
        sums[i] += value


def _summary(team: Team, groups: list[tuple[date, str | None, Tally]]) -> dict[str, Any]:
    totals: dict[Any, list[int]] = {}
    by_name: dict[Any, list[int]] = {}
    for _week, service, tally in groups:
        _add(totals, None, tally)
        if service is not None:
            _add(by_name, service, tally)
    total = totals.get(None, [0, 0, 0, 0, 0])
    order = [s.get("name") for s in team.data.get("services") or [] if isinstance(s, Mapping)]
    names = [n for n in order if isinstance(n, str)] + sorted(n for n in by_name if n not in order)
    return {
        "requests": total[0],
        "reply": _outcome(total[1], total[2]),
        "resolution": _outcome(total[3], total[4]),
        "services": [{"name": name, "requests": by_name.get(name, [0])[0],
                      "resolution": _outcome(*by_name.get(name, [0, 0, 0, 0, 0])[3:5])} for name in names],
    }


def _weeks(team: Team, since: datetime, until: datetime,
           groups: list[tuple[date, str | None, Tally]]) -> list[dict[str, Any]]:
    by_week: dict[Any, list[int]] = {}
    for week, _service, tally in groups:
        _add(by_week, week, tally)
    zone = timezone_of(team.timezone)
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    mondays: list[date] = []
    monday = first - timedelta(days=first.weekday())
    while monday <= last and len(mondays) < 1100:  # a window of centuries lists its first 20 years of weeks
        mondays.append(monday)
        monday += timedelta(days=7)
    answer = []
    for monday in sorted(set(mondays) | set(by_week)):
        sums = by_week.get(monday, [0, 0, 0, 0, 0])
        answer.append({"week": monday.isoformat(), "requests": sums[0],
                       "reply": _outcome(sums[1], sums[2]), "resolution": _outcome(sums[3], sums[4])})
    return answer


def performance(session: Session, team: Team, since: datetime, until: datetime) -> dict[str, Any]:
    """CONTRACT §4's answer for requests received in [since, until), judged as of `until`."""
    return {
        "since": since.isoformat(timespec="seconds"),
        "until": until.isoformat(timespec="seconds"),
        **_summary(team, _groups(session, team, since, until)),
        "satisfaction": satisfaction(session, team, since, until),
    }


def weekly(session: Session, team: Team, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Week by week (Monday, in the team's zone when each request arrived), judged as of `until`;
    weeks without requests are listed too, so a chart's gaps are real gaps."""
    return _weeks(team, since, until, _groups(session, team, since, until))


WEEKLY_CSV_COLUMNS = ("week", "requests", "reply_measured", "reply_kept", "reply_kept_ratio",
                      "resolution_measured", "resolution_kept", "resolution_kept_ratio")


def weekly_rows(weeks: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """The weekly figures flat, in WEEKLY_CSV_COLUMNS order (for CSV and the page's table)."""
    return [[w["week"], w["requests"], w["reply"]["measured"], w["reply"]["kept"], w["reply"]["kept_ratio"],
             w["resolution"]["measured"], w["resolution"]["kept"], w["resolution"]["kept_ratio"]] for w in weeks]


def percent(outcome: Mapping[str, Any]) -> int | None:
    """The kept share in whole percent, rounded down (one missed promise never reads as 100%);
    None below MIN_MEASURED."""
    if outcome["measured"] < MIN_MEASURED:
        return None
    return math.floor(100 * outcome["kept"] / outcome["measured"])


# --------------------------------------------------------------------------- the team page


CHART_WEEKS = 13
CHART_BAR, CHART_GAP, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM, CHART_PAD = 30, 8, 100, 18, 32, 6


def trend_chart(weeks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Geometry of the weekly reply-on-time bars, for an inline SVG: each bar carries its value as
    text, so the chart reads without colour; weeks with nothing measured show a dash. Under each
    bar the Monday's day, and its month where the month changes."""
    bars = []
    previous_month = None
    for i, week in enumerate(weeks[-CHART_WEEKS:]):
        ratio = week["reply"]["kept_ratio"]
        height = round((ratio or 0) * CHART_HEIGHT)
        x = CHART_PAD + i * (CHART_BAR + CHART_GAP)
        monday = date.fromisoformat(week["week"])
        bars.append({
            "x": x, "width": CHART_BAR, "y": CHART_TOP + CHART_HEIGHT - height, "height": height,
            "label": "–" if ratio is None else f"{math.floor(ratio * 100)}%",
            "label_y": CHART_TOP + CHART_HEIGHT - height - 4,
            "week": f"{monday.day} {monday:%b}", "week_iso": week["week"], "day": str(monday.day),
            "month": f"{monday:%b}" if monday.month != previous_month else "",
            "measured": week["reply"]["measured"], "kept": week["reply"]["kept"],
        })
        previous_month = monday.month
    width = 2 * CHART_PAD + max(len(bars) * (CHART_BAR + CHART_GAP) - CHART_GAP, 1)
    return {"bars": bars, "width": width, "height": CHART_TOP + CHART_HEIGHT + CHART_BOTTOM,
            "baseline": CHART_TOP + CHART_HEIGHT, "axis_y": CHART_TOP + CHART_HEIGHT + 14,
            "month_y": CHART_TOP + CHART_HEIGHT + 27}


def page_summary(session: Session, team: Team, now: datetime) -> dict[str, Any] | None:
    """What the team page shows: the last 90 days' percentages (none below MIN_MEASURED), per
    service, and the weekly trend, from one grouped query; None when no request was reported."""
    since, until = default_window(now)
    groups = _groups(session, team, since, until)
    if not groups:
        return None
    found = _summary(team, groups)
    weeks = _weeks(team, since, until, groups)
    return {
        "since": since, "until": until, "days": DEFAULT_WINDOW.days, "figures": found,
        "reply_percent": percent(found["reply"]),
        "services": [dict(s, percent=percent(s["resolution"])) for s in found["services"] if s["requests"]],
        "weeks": weeks, "rows": weekly_rows(weeks), "chart": trend_chart(weeks), "min_measured": MIN_MEASURED,
    }
