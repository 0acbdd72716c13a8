"""Whether teams' booking and contact links still answer, checked by `directory check-links`.

Checking happens in a periodic job, never while a page is shown: another server's slowness must
not slow the directory. Each URL gets a timeout, a bounded number are checked at once, a URL
several teams share is fetched once, and the last answer per team and URL is kept in
`link_checks` for the admin's list of pages that need attention.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.models import LinkCheck, Team, utcnow

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 8
USER_AGENT = "directory-link-check/1 (+the intranet directory; checks that booking and contact links answer)"
# A sign-in wall proves the page exists: intranet forms are often behind one.
OK_STATUSES = {401, 403}


@dataclass(frozen=True)
class Link:
    team_id: int
    url: str
    place: str


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


def _web_url(value: Any) -> str | None:
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None


def team_links(team: Team) -> list[Link]:
    """The web links a team's page offers: its booking, its URL contacts and its services' bookings."""
    data = team.data
    found: list[Link] = []
    booking = data.get("booking")
    if isinstance(booking, dict) and (url := _web_url(booking.get("url"))):
        found.append(Link(team.id, url, "booking"))
    for contact in data.get("contacts") or []:
        if isinstance(contact, dict) and (url := _web_url(contact.get("value"))):
            found.append(Link(team.id, url, f"contact {contact.get('label') or contact.get('kind') or ''}".strip()))
    for service in data.get("services") or []:
        booking = service.get("booking") if isinstance(service, dict) else None
        if isinstance(booking, dict) and (url := _web_url(booking.get("url"))):
            found.append(Link(team.id, url, f"booking of {service.get('name') or 'a service'}"[:300]))
    unique: dict[str, Link] = {}
    for link in found:
        unique.setdefault(link.url, link)
    return list(unique.values())


def check_url(url: str, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """One GET (some servers refuse HEAD), following redirects, reading nothing of the body."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # http(s) only, see _web_url
            return Outcome(True, response.status, None)
    except urllib.error.HTTPError as exc:
        return Outcome(exc.code in OK_STATUSES, exc.code, None if exc.code in OK_STATUSES else f"HTTP {exc.code}")
    except TimeoutError:
        return Outcome(False, None, f"no answer within {timeout:g} s")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Outcome(False, None, f"no answer within {timeout:g} s")
        return Outcome(False, None, str(reason)[:500])
    except (OSError, ValueError) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])


def check_links(session: Session, *, timeout: float = DEFAULT_TIMEOUT, concurrency: int = DEFAULT_CONCURRENCY,
                teams: Iterable[Team] | None = None,
                progress: Callable[[Link, Outcome], None] | None = None) -> dict[str, Outcome]:
    """Check every link of the active teams (or of `teams`) and store each outcome, replacing the
    previous ones (links no longer listed are forgotten). Returns outcomes by URL; the caller commits."""
    if teams is None:
        teams = session.scalars(select(Team).where(Team.archived_at.is_(None)))
    teams = list(teams)
    links = [link for team in teams for link in team_links(team)]
    urls = list(dict.fromkeys(link.url for link in links))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        outcomes = dict(zip(urls, pool.map(lambda u: check_url(u, timeout), urls), strict=True))

    now = utcnow()
    team_ids = [t.id for t in teams]
    existing = {(c.team_id, c.url): c for c in session.scalars(select(LinkCheck).where(LinkCheck.team_id.in_(team_ids)))}
    kept = set()
    for link in links:
        outcome = outcomes[link.url]
        row = existing.get((link.team_id, link.url))
        if row is None:
            row = LinkCheck(team_id=link.team_id, url=link.url, place=link.place, ok=outcome.ok)
            session.add(row)
        row.place, row.ok, row.status, row.error, row.checked_at = (
            link.place, outcome.ok, outcome.status, outcome.error, now)
        kept.add((link.team_id, link.url))
        if progress is not None:
            progress(link, outcome)
    for key, row in existing.items():
        if key not in kept:
            session.delete(row)
    session.flush()
    return outcomes


def broken_links(session: Session) -> dict[int, list[LinkCheck]]:
    """Team id -> its links that failed their last check, for the admin's attention list."""
    found: dict[int, list[LinkCheck]] = {}
    for row in session.scalars(select(LinkCheck).where(LinkCheck.ok.is_(False)).order_by(LinkCheck.url)):
        found.setdefault(row.team_id, []).append(row)
    return found
