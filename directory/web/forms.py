"""The team editor's form: a team document to form fields, the posted fields back to a raw document.

The form's input names are the document's field paths ("hours.weekly.mon.0.start",
"services.0.turnaround.value"), so the field paths of `InvalidTeam.errors` find their inputs with no
translation table. The raw document goes through `directory.schemas.load_team`, the same validation the
API uses; nothing here decides what is valid, except one safety net the form alone needs (opening
times typed while "hours not published" is chosen).

Rows left entirely blank are dropped, so an editor can offer spare rows and the posted indices need
not be contiguous (the browser's script adds rows with fresh indices).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from directory.schemas import TEXT_FIELDS
from directory.vocabulary import DAY_NAMES, EDITOR_ORDER, FIELD_LABELS, TEAM_FIELDS, WEEKDAYS

_INDEXED = re.compile(r"^(?P<prefix>.+?)\.(?P<index>\d+)\.(?P<rest>.+)$")
_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_INTERVAL = re.compile(r"\binterval (\d+)\b")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class TeamForm:
    """What the editor shows: every value as text, lists as rows. Built from a team or from a post."""

    values: dict[str, str] = field(default_factory=dict)
    hours_published: bool = False
    weekly: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {d: [] for d in WEEKDAYS})
    closures: list[dict[str, str]] = field(default_factory=list)
    contacts: list[dict[str, str]] = field(default_factory=list)
    services: list[dict[str, str]] = field(default_factory=list)
    notices: list[dict[str, str]] = field(default_factory=list)
    version: str = ""

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def add_row(self, path: str) -> None:
        """One more blank row in the list at `path` (the editor's "add" buttons, without JavaScript)."""
        if path.startswith("hours.weekly.") and path.rpartition(".")[2] in self.weekly:
            self.weekly[path.rpartition(".")[2]].append({"start": "", "end": "", "overnight": ""})
        elif path == "hours.closures":
            self.closures.append({"start": "", "end": "", "reason": ""})
        elif path == "contacts":
            self.contacts.append({"kind": "email", "value": "", "label": ""})
        elif path == "services":
            self.services.append(_blank_service())
        elif path == "notices":
            self.notices.append(dict(BLANK_NOTICE))


BLANK_NOTICE = {"message": "", "starts": "", "ends": "", "level": "info"}


def _blank_service() -> dict[str, str]:
    return {k: "" for k in ("name", "description", "turnaround.value", "turnaround.unit", "booking.method",
                            "booking.url", "booking.instructions")}


def form_from_team(data: Mapping[str, Any], version: int | None = None) -> TeamForm:
    """The editor's fields for a stored (or blank) team document."""
    form = TeamForm(version="" if version is None else str(version))
    v = form.values
    for key in (*TEXT_FIELDS, "slug", "last_reviewed"):
        v[key] = _text(data.get(key))
    v["timezone"] = _text(data.get("timezone") or "UTC")
    v["tags"] = ", ".join(data.get("tags") or [])
    v["owners"] = "\n".join(data.get("owners") or [])
    rt = data.get("response_time") or {}
    v["response_time.value"] = _number_text(rt.get("value"))
    v["response_time.unit"] = _text(rt.get("unit"))
    booking = data.get("booking") or {}
    for key in ("method", "url", "instructions"):
        v[f"booking.{key}"] = _text(booking.get(key))
    auto = data.get("auto_reply") or {}
    v["auto_reply.subject"] = _text(auto.get("subject"))
    v["auto_reply.body"] = _text(auto.get("body"))

    hours = data.get("hours")
    form.hours_published = hours is not None
    hours = hours or {}
    weekly = hours.get("weekly") or {}
    for day in WEEKDAYS:
        form.weekly[day] = [
            {"start": _text(a), "end": _text(b), "overnight": "yes" if runs_overnight(_text(a), _text(b)) else ""}
            for a, b in weekly.get(day) or []
        ]
    cal = hours.get("holidays") or {}
    v["hours.holidays.country"] = _text(cal.get("country"))
    v["hours.holidays.subdivision"] = _text(cal.get("subdivision"))
    v["hours.holidays.calendar"] = _text(cal.get("calendar"))
    form.closures = [
        {"start": _text(c.get("start")), "end": _text(c.get("end")), "reason": _text(c.get("reason"))}
        for c in hours.get("closures") or []
    ]
    form.contacts = [
        {"kind": _text(c.get("kind")), "value": _text(c.get("value")), "label": _text(c.get("label"))}
        for c in data.get("contacts") or []
    ]
    for service in data.get("services") or []:
        turnaround = service.get("turnaround") or {}
        sb = service.get("booking") or {}
        form.services.append({
            "name": _text(service.get("name")),
            "description": _text(service.get("description")),
            "turnaround.value": _number_text(turnaround.get("value")),
            "turnaround.unit": _text(turnaround.get("unit")),
            "booking.method": _text(sb.get("method")),
            "booking.url": _text(sb.get("url")),
            "booking.instructions": _text(sb.get("instructions")),
        })
    form.notices = [
        {"message": _text(n.get("message")), "starts": _text(n.get("starts")), "ends": _text(n.get("ends")),
         "level": _text(n.get("level")) or "info"}
        for n in data.get("notices") or [] if isinstance(n, Mapping)
    ]
    return form


def _rows(posted: Mapping[str, str], prefix: str, keys: Iterable[str]) -> list[dict[str, str]]:
    """The rows posted as prefix.N.key, in index order, with blank rows dropped."""
    found: dict[int, dict[str, str]] = {}
    keys = tuple(keys)
    for name, value in posted.items():
        if not name.startswith(prefix + "."):
            continue
        match = _INDEXED.match(name)
        if not match or match["prefix"] != prefix or match["rest"] not in keys:
            continue
        found.setdefault(int(match["index"]), {})[match["rest"]] = value.strip()
    rows = []
    for index in sorted(found):
        row = {key: found[index].get(key, "") for key in keys}
        rows.append(row)
    return rows


def form_from_post(posted: Mapping[str, str]) -> TeamForm:
    """The editor's fields exactly as typed (trimmed), blank rows dropped."""
    form = TeamForm(version=posted.get("version", "").strip())
    for key in ("slug", "timezone", "last_reviewed", "tags",
                "response_time.value", "response_time.unit", "booking.method", "booking.url",
                "hours.holidays.country", "hours.holidays.subdivision", "hours.holidays.calendar",
                "auto_reply.subject"):
        form.values[key] = posted.get(key, "").strip()
    for key in (*TEXT_FIELDS, "owners", "booking.instructions", "auto_reply.body"):
        form.values[key] = posted.get(key, "").replace("\r\n", "\n").strip()
    form.hours_published = posted.get("hours.published") == "yes"
    for day in WEEKDAYS:
        form.weekly[day] = [r for r in _rows(posted, f"hours.weekly.{day}", ("start", "end", "overnight"))
                            if r["start"] or r["end"]]
    form.closures = [r for r in _rows(posted, "hours.closures", ("start", "end", "reason")) if any(r.values())]
    form.contacts = [r for r in _rows(posted, "contacts", ("kind", "value", "label")) if r["value"] or r["label"]]
    service_keys = tuple(_blank_service())
    form.services = [r for r in _rows(posted, "services", service_keys) if any(r.values())]
    form.notices = [r for r in _rows(posted, "notices", tuple(BLANK_NOTICE)) if r["message"] or r["starts"] or r["ends"]]
    return form


def _number(text: str) -> Any:
    """A typed number as a JSON number; anything else is passed on for the schema to refuse."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return text


def _duration(value: str, unit: str) -> dict[str, Any] | None:
    if not value and not unit:
        return None
    out: dict[str, Any] = {}
    if value:
        out["value"] = _number(value)
    if unit:
        out["unit"] = unit
    return out


def _booking(method: str, url: str, instructions: str) -> dict[str, Any] | None:
    if not (method or url or instructions):
        return None
    out: dict[str, Any] = {"url": url or None, "instructions": instructions or None}
    if method:
        out["method"] = method
    return out


def local_bound(text: str) -> str | None:
    """A closure or notice bound as typed ("2026-12-24 9:00") in the document's spelling ("2026-12-24T09:00")."""
    if not text:
        return None
    return re.sub(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})$", lambda m: f"{m[1]}T{m[2].zfill(5)}", text)


def _split(text: str, pattern: str) -> list[str]:
    return [part.strip() for part in re.split(pattern, text) if part.strip()]


def document_from_form(form: TeamForm) -> dict[str, Any]:
    """The raw §1 document the form describes, for `load_team` to validate."""
    v = form.values
    doc: dict[str, Any] = {
        **{key: v.get(key, "") for key in TEXT_FIELDS},  # the schema reads blank as absent, or refuses it
        "tags": _split(v.get("tags", ""), r"[,\n]"),
        "timezone": v.get("timezone") or "UTC",
        "response_time": _duration(v.get("response_time.value", ""), v.get("response_time.unit", "")),
        "booking": _booking(v.get("booking.method", ""), v.get("booking.url", ""), v.get("booking.instructions", "")),
        "contacts": [
            {"kind": c["kind"], "value": c["value"], **({"label": c["label"]} if c["label"] else {})}
            for c in form.contacts
        ],
        "services": [
            {
                "name": s["name"],
                "description": s["description"] or None,
                "turnaround": _duration(s["turnaround.value"], s["turnaround.unit"]),
                "booking": _booking(s["booking.method"], s["booking.url"], s["booking.instructions"]),
            }
            for s in form.services
        ],
        "owners": _split(v.get("owners", ""), r"[,;\s]+"),
        "last_reviewed": v.get("last_reviewed") or None,
        "auto_reply": (
            {"subject": v.get("auto_reply.subject") or None, "body": v.get("auto_reply.body") or None}
            if v.get("auto_reply.subject") or v.get("auto_reply.body") else None
        ),
    }
    if form.notices:
        doc["notices"] = [
            {"message": n["message"], "starts": local_bound(n["starts"]), "ends": local_bound(n["ends"]),
             "level": n["level"] or "info"}
            for n in form.notices
        ]
    if v.get("slug"):
        doc["slug"] = v["slug"]
    if form.hours_published:
        holidays = None
        if v.get("hours.holidays.country") or v.get("hours.holidays.subdivision"):
            holidays = {"country": v.get("hours.holidays.country", "").upper()}
            if v.get("hours.holidays.subdivision"):
                holidays["subdivision"] = v["hours.holidays.subdivision"]
        if v.get("hours.holidays.calendar"):  # an organisation calendar, with or without a country's
            holidays = (holidays or {}) | {"calendar": v["hours.holidays.calendar"]}
        doc["hours"] = {
            "weekly": {day: [[r["start"], r["end"]] for r in form.weekly[day]] for day in WEEKDAYS},
            "holidays": holidays,
            "closures": [
                {"start": local_bound(c["start"]), "end": local_bound(c["end"]),
                 **({"reason": c["reason"]} if c["reason"] else {})}
                for c in form.closures
            ],
        }
    else:
        doc["hours"] = None
    return doc


def runs_overnight(start: str, end: str) -> bool:
    """Whether an interval typed as `start` to `end` ends the next day (22:00 to 06:00); one that
    ends at 00:00 or 24:00 ends at midnight, and needs no confirming."""
    return bool(_CLOCK.match(start) and _CLOCK.match(end)) and "00:00" < end < start


def _span(start: str, end: str) -> str:
    minutes = (24 * 60 - int(start[:2]) * 60 - int(start[3:])) + int(end[:2]) * 60 + int(end[3:])
    hours, rest = divmod(minutes, 60)
    text = f"{hours} hour{'s' if hours != 1 else ''}" if hours else ""
    return f"{text} {rest} minutes".strip() if rest else text


def overnight_notes(form: TeamForm) -> dict[str, list[str]]:
    """Intervals that end before they start and whose "runs overnight" box is not ticked.

    The API takes "09:00 to 05:00" as an overnight shift (contract §1); in the editor it is far
    more often a slip for 17:00, so the owner confirms it once, and a stored overnight shift
    comes back already ticked.
    """
    notes: dict[str, list[str]] = {}
    for index, day in enumerate(WEEKDAYS):
        following = DAY_NAMES[WEEKDAYS[(index + 1) % 7]]
        for number, row in enumerate(form.weekly[day], 1):
            start, end = row.get("start", ""), row.get("end", "")
            if runs_overnight(start, end) and row.get("overnight") != "yes":
                notes.setdefault(f"hours.weekly.{day}", []).append(
                    f"interval {number}: {start} to {end} ends before it starts, so it would run overnight until "
                    f"{end} on {following} ({_span(start, end)}) — tick “runs overnight” to confirm an overnight "
                    f"shift, or correct the times")
    return notes


def form_errors(form: TeamForm) -> dict[str, list[str]]:
    """What only the form can get wrong: hours typed while "not published" is chosen, and
    overnight intervals not yet confirmed."""
    typed = (any(form.weekly[d] for d in WEEKDAYS) or form.closures or form.values.get("hours.holidays.country")
             or form.values.get("hours.holidays.calendar"))
    if not form.hours_published and typed:
        return {"hours": ["you entered opening hours but chose “Hours not published”: choose "
                          "“Published” to save them, or clear them"]}
    return overnight_notes(form) if form.hours_published else {}


class ErrorMap:
    """Puts each error message beside the input it is about.

    An error's path is matched to the longest rendered field path that prefixes it; for example
    "services.0.turnaround.value" lands on that input, "owners.1" on the owners box and
    "hours.weekly.mon" beside Monday's rows. Errors whose place is not on the form (e.g. "_schema")
    fall back to the summary at the top, which lists every error with a link to its field.
    """

    def __init__(self, errors: Mapping[str, list[str]], form: TeamForm) -> None:
        self.errors = {k: list(v) for k, v in errors.items()}
        self.known = self._known_paths(form)
        self.placed: dict[str, list[str]] = {}
        self.summary: list[tuple[str, str, str]] = []  # (anchor id, label, message)
        for path, messages in sorted(self.errors.items(), key=lambda item: _form_order(item[0])):
            anchor = self.anchor(path)
            self.placed.setdefault(anchor, []).extend(messages)
            for message in messages:
                self.summary.append((field_id(anchor), _label(path), message))

    @staticmethod
    def _known_paths(form: TeamForm) -> set[str]:
        known = {
            *TEAM_FIELDS, "response_time.value", "response_time.unit", "booking.method", "booking.url",
            "booking.instructions", "auto_reply.subject", "auto_reply.body", "hours.weekly", "hours.holidays",
            "hours.holidays.country", "hours.holidays.subdivision", "hours.holidays.calendar", "hours.closures",
        }
        known.update(f"hours.weekly.{d}" for d in WEEKDAYS)
        for i in range(len(form.closures) + 1):
            known.update({f"hours.closures.{i}", *(f"hours.closures.{i}.{k}" for k in ("start", "end", "reason"))})
        for i in range(len(form.contacts) + 1):
            known.update({f"contacts.{i}", *(f"contacts.{i}.{k}" for k in ("kind", "value", "label"))})
        for i in range(len(form.services) + 1):
            known.add(f"services.{i}")
            known.update(f"services.{i}.{k}" for k in _blank_service())
            known.update({f"services.{i}.turnaround", f"services.{i}.booking"})
        for i in range(len(form.notices) + 1):
            known.update({f"notices.{i}", *(f"notices.{i}.{k}" for k in BLANK_NOTICE)})
        return known

    def anchor(self, path: str) -> str:
        probe = path
        while probe:
            if probe in self.known:
                return probe
            probe = probe.rpartition(".")[0]
        return "_form"

    def __bool__(self) -> bool:
        return bool(self.errors)

    def at(self, path: str) -> list[str]:
        """The messages to show beside the field (or group) at `path`."""
        return self.placed.get(path, [])

    def bad_intervals(self, day: str) -> set[int]:
        """Row indexes (0-based) of a day's intervals that an error names ("interval 2: ...")."""
        found: set[int] = set()
        for message in self.at(f"hours.weekly.{day}"):
            found.update(int(n) - 1 for n in _INTERVAL.findall(message))
        return found


FORM_ORDER = ("_form", "_schema", *EDITOR_ORDER)
_HOURS_ORDER = ("weekly", "holidays", "closures")


def _form_order(path: str) -> tuple[Any, ...]:
    """Where an error's field sits on the form, so the summary reads top to bottom."""
    parts = path.split(".")
    head = FORM_ORDER.index(parts[0]) if parts[0] in FORM_ORDER else len(FORM_ORDER)
    rest: list[Any] = []
    for part in parts[1:]:
        if part.isdigit():
            rest.append((0, int(part), ""))
        elif part in WEEKDAYS:
            rest.append((0, WEEKDAYS.index(part), ""))
        elif part in _HOURS_ORDER:
            rest.append((0, _HOURS_ORDER.index(part), ""))
        else:
            rest.append((1, 0, part))
    return (head, *rest)


def field_id(path: str) -> str:
    """The HTML id of the input (or group) for a field path."""
    return "f-" + re.sub(r"[^a-zA-Z0-9_-]", "-", path)


_LABELS = {**FIELD_LABELS, "_schema": "Team", "_form": "Team"}


def _label(path: str) -> str:
    parts = path.split(".")
    if parts[0] == "hours" and len(parts) > 2 and parts[1] == "weekly":
        return f"Opening hours, {DAY_NAMES.get(parts[2], parts[2])}"
    if parts[0] == "hours" and len(parts) > 1 and parts[1] == "closures":
        return "Closures" + (f", row {int(parts[2]) + 1}" if len(parts) > 2 and parts[2].isdigit() else "")
    if parts[0] == "hours" and len(parts) > 1 and parts[1] == "holidays":
        return "Public holidays"
    if parts[0] in {"contacts", "services", "notices"} and len(parts) > 1 and parts[1].isdigit():
        noun = {"contacts": "Contact", "services": "Service", "notices": "Notice"}[parts[0]]
        rest = " ".join(parts[2:]).replace("_", " ")
        return f"{noun} {int(parts[1]) + 1}" + (f" ({rest})" if rest else "")
    label = _LABELS.get(parts[0], parts[0].replace("_", " ").capitalize())
    rest = " ".join(p.replace("_", " ") for p in parts[1:] if not p.isdigit())
    return f"{label} ({rest})" if rest else label
