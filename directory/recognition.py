"""The quarter's recognition: teams that kept their promises and were rated highest, by department.

A list that celebrates must be explainable, so the rule is data (`Rule`), shown on the page beside
every figure that met it. Promises come from the request measurements (`directory.performance`,
CONTRACT §4) and ratings from the quarter's survey rounds (`directory.surveys`), with §4 feedback
(`directory.feedback.satisfaction`) standing in for a team that has no survey figure. When either
feature is not installed the page says so and recognises nobody rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import surveys
from directory.errors import Invalid
from directory.models import Team

QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")

# (session, team, since, until) -> {"measured": n, "kept": n, "kept_ratio": x | None} for reply promises
PromiseSource = Callable[[Session, Team, datetime, datetime], dict[str, Any] | None]
# (session, team, since, until) -> {"responses": n, "average": x | None}
RatingSource = Callable[[Session, Team, datetime, datetime], dict[str, Any] | None]


class InvalidQuarter(Invalid):
    """A quarter that is not one ('2026-Q5', a year out of range); `errors` names the field."""


@dataclass(frozen=True)
class Rule:
    min_measured: int = 20
    min_kept_ratio: float = 0.9
    min_rating: float = 4.0
    min_raters: int = surveys.ANONYMITY_FLOOR

    def describe(self) -> str:
        return (f"At least {self.min_measured} measured requests with reply promises kept ≥ "
                f"{self.min_kept_ratio:.0%}, and an average rating ≥ {self.min_rating:.1f} out of 5 from at "
                f"least {self.min_raters} different people (the quarter's survey rounds, all three parameters; "
                f"for a team without a survey figure, §4 feedback). Ranked within each department by rating, "
                f"then share of promises kept, then number measured.")

    def as_dict(self) -> dict[str, Any]:
        return {"min_measured": self.min_measured, "min_kept_ratio": self.min_kept_ratio,
                "min_rating": self.min_rating, "min_raters": self.min_raters, "text": self.describe()}


RULE = Rule()


def parse_quarter(text: str | None) -> tuple[str, datetime, datetime]:
    """'2026-Q4' -> (label, start, end) in UTC, end exclusive; refused naming the `quarter` field."""
    match = QUARTER_RE.match((text or "").strip())
    if not match:
        raise InvalidQuarter("The quarter must be written like 2026-Q4.", {"quarter": ["must look like 2026-Q4"]})
    year, number = int(match.group(1)), int(match.group(2))
    if not 2000 <= year <= 2100:
        raise InvalidQuarter("The quarter's year must be between 2000 and 2100.",
                             {"quarter": ["year between 2000 and 2100"]})
    start = datetime(year, 3 * number - 2, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if number == 4 else datetime(year, 3 * number + 1, 1, tzinfo=UTC)
    return f"{year}-Q{number}", start, end


def quarter_of(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def neighbours(label: str) -> tuple[str, str]:
    """The quarters before and after, for the page's links."""
    year, number = int(label[:4]), int(label[-1])
    before = f"{year - 1}-Q4" if number == 1 else f"{year}-Q{number - 1}"
    after = f"{year + 1}-Q1" if number == 4 else f"{year}-Q{number + 1}"
    return before, after


def performance_source() -> PromiseSource | None:
    """Reply promises from `directory.performance`, if that feature is installed."""
    try:
        from directory import performance  # type: ignore[attr-defined]
    except ImportError:
        return None
    for name in ("team_performance", "performance", "measure", "summary", "promises_kept"):
        function = getattr(performance, name, None)
        if callable(function):
            def source(session: Session, team: Team, since: datetime, until: datetime,
                       _f: Callable[..., Any] = function) -> dict[str, Any] | None:
                result = _f(session, team, since, until)
                result = result if isinstance(result, dict) else getattr(result, "__dict__", {})
                reply = result.get("reply")
                return reply if isinstance(reply, dict) else getattr(reply, "__dict__", None)
            return source
    return None


def feedback_source() -> RatingSource | None:
    """Satisfaction from `directory.feedback`, if installed."""
    try:
        from directory import feedback  # type: ignore[attr-defined]
    except ImportError:
        return None
    function = getattr(feedback, "satisfaction", None)
    if not callable(function):
        return None

    def source(session: Session, team: Team, since: datetime, until: datetime) -> dict[str, Any] | None:
        result = function(session, team, since, until)
        return result if isinstance(result, dict) else getattr(result, "__dict__", None)

    return source


def recognise(session: Session, quarter: str, *, rule: Rule = RULE, promises: PromiseSource | None = None,
              ratings: RatingSource | None = None, use_installed: bool = True) -> dict[str, Any]:
    """Every active team's figures for the quarter, whether it met the rule (and why not), and the
    recognised teams ranked by department. Sources default to the installed features."""
    label, since, until = parse_quarter(quarter)
    if use_installed:
        promises = promises or performance_source()
        ratings = ratings or feedback_source()
    survey_figures = surveys.quarter_survey_figures(session, since, until)
    teams = list(session.scalars(select(Team).where(Team.archived_at.is_(None)).order_by(Team.name)))
    considered: list[dict[str, Any]] = []
    for team in teams:
        reply = (promises(session, team, since, until) if promises else None) or {}
        measured = int(reply.get("measured") or 0)
        kept = int(reply.get("kept") or 0)
        ratio = reply.get("kept_ratio")
        if ratio is None and measured:
            ratio = kept / measured
        figure = survey_figures.get(team.id)
        rating, raters, rating_from = None, 0, None
        if figure is not None:
            raters = figure.people
            if figure.overall is not None:
                rating, rating_from = figure.overall, "survey"
        if rating is None and ratings is not None:
            satisfaction = ratings(session, team, since, until) or {}
            if satisfaction.get("average") is not None:
                rating, raters, rating_from = round(float(satisfaction["average"]), 2), int(
                    satisfaction.get("responses") or 0), "feedback"
        reasons = []
        if promises is None:
            reasons.append("promises are not measured in this directory")
        elif measured < rule.min_measured:
            reasons.append(f"{measured} measured requests (fewer than {rule.min_measured})")
        elif ratio is None or ratio < rule.min_kept_ratio:
            reasons.append(f"reply promises kept {_percent(ratio)} (below {rule.min_kept_ratio:.0%})")
        if rating is None:
            reasons.append(f"no rating from at least {rule.min_raters} people")
        elif raters < rule.min_raters:
            reasons.append(f"rated by {raters} people (fewer than {rule.min_raters})")
        elif rating < rule.min_rating:
            reasons.append(f"average rating {rating:.2f} (below {rule.min_rating:.1f})")
        considered.append({
            "slug": team.slug, "name": team.name, "department": team.department or "",
            "reply": {"measured": measured, "kept": kept,
                      "kept_ratio": None if ratio is None else round(float(ratio), 4)},
            "rating": {"average": rating, "people": raters, "source": rating_from},
            "recognised": not reasons, "reasons": reasons,
        })
    recognised = [c for c in considered if c["recognised"]]
    recognised.sort(key=lambda c: (c["department"].lower(), -(c["rating"]["average"] or 0),
                                   -(c["reply"]["kept_ratio"] or 0), -c["reply"]["measured"], c["name"].lower()))
    departments: dict[str, list[dict[str, Any]]] = {}
    for c in recognised:
        departments.setdefault(c["department"], []).append(c)
    for rows in departments.values():
        for rank, row in enumerate(rows, start=1):
            row["rank"] = rank
    before, after = neighbours(label)
    return {
        "quarter": label, "since": since.isoformat(), "until": until.isoformat(),
        "previous_quarter": before, "next_quarter": after,
        "rule": rule.as_dict(),
        "sources": {"promises": promises is not None, "feedback": ratings is not None},
        "departments": [{"name": name, "teams": rows} for name, rows in departments.items()],
        "considered": considered,
    }


def _percent(ratio: float | None) -> str:
    return "unknown" if ratio is None else f"{ratio:.0%}"


def csv_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The recognised teams as CSV rows (header first), the same figures as the page."""
    lines: list[list[Any]] = [["quarter", "department", "rank", "team", "slug", "measured", "kept", "kept_ratio",
                               "rating", "rated_by", "rating_source"]]
    for department in data["departments"]:
        for row in department["teams"]:
            lines.append([data["quarter"], department["name"], row["rank"], row["name"], row["slug"],
                          row["reply"]["measured"], row["reply"]["kept"], _ratio(row["reply"]["kept_ratio"]),
                          f"{row['rating']['average']:.2f}", row["rating"]["people"], row["rating"]["source"]])
    return lines


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
