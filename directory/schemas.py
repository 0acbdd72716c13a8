"""The team document's schema: the one validation of a team, whoever writes it (the API, the
editor, the owners form, `directory import`, seeds).

Schemas check shape only (types, formats, allowed values, the hours rules of CONTRACT §1); rules
that need the database (unique slug, unique contact address) live in `directory.services`. The
fields' order and the allowed values come from `directory.vocabulary`. `load_team` and
`load_teams` are what callers use; the API documents and dumps with `TeamSchema` itself.
"""

from __future__ import annotations

import math
import re
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from directory import contacts, vocabulary
from directory import hours as hours_engine
from directory import notices as notices_engine
from directory.errors import InvalidTeam
from directory.text import text_problem

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
BOOKING_METHODS = tuple(vocabulary.BOOKING_METHODS)
CONTACT_KINDS = tuple(vocabulary.CONTACT_KINDS)
DURATION_UNITS = tuple(vocabulary.DURATION_UNITS)
NOTICE_LEVELS = tuple(vocabulary.NOTICE_LEVELS)
PHONE_RE = contacts.PHONE_RE
LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
READ_ONLY_FIELDS = ("url", "api_url", "version", "created_at", "updated_at", "archived", "id")
TEAM_FIELDS = vocabulary.TEAM_FIELDS
OMITTED_WHEN_EMPTY = vocabulary.OMITTED_WHEN_EMPTY


def _one_of(values: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(values, error="must be one of: " + ", ".join(values))


def _link(value: str, field: str | None = None) -> None:
    if not value.lower().startswith(LINK_SCHEMES):
        raise ValidationError("must be a link starting with http://, https://, mailto: or tel:", field)


class Number(fields.Field):
    """A finite JSON number, kept an int when it is whole so documents round-trip unchanged."""

    default_error_messages = {"invalid": "must be a number"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value  # exact, however large: range validators then say what is allowed
        if not math.isfinite(value):
            raise self.make_error("invalid")
        return int(value) if value.is_integer() else value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class StorableString(fields.String):
    """A string every backend can store: no NUL, no lone surrogate (query arguments use it too)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class EmailAddress(StorableString):
    """An e-mail address by the directory's one rule (`directory.contacts`), as owners and contacts use."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = contacts.email_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class Text(StorableString):
    """A string with surrounding whitespace removed; blank means absent where absence is allowed."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            if self.allow_none:
                return None
            raise ValidationError("must not be empty")
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class DateString(fields.Date):
    """A calendar date kept as its ISO string, so documents stay plain JSON."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).isoformat()

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value if isinstance(value, str) or value is None else value.isoformat()


def unstorable_text(value: Any) -> dict[str, list[str]]:
    """Field path -> problem for every string (value or key) in a raw document that no backend can store.

    Walks the whole document, free-form parts such as `hours` included, without recursion, so a
    deeply nested document cannot exhaust the stack here.
    """
    found: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                found.setdefault(path or "_schema", []).append(problem)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    found.setdefault(path or "_schema", []).append(f"a field name here {problem}")
                    continue
                stack.append((child_path, child))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}.{index}" if path else str(index), child) for index, child in enumerate(item))
    return found


class DocumentSchema(Schema):
    class Meta:
        unknown = EXCLUDE
        ordered = True

    @pre_load
    def _storable_text(self, data: Any, **kwargs: Any) -> Any:
        """Refuse text that would fail on storing or rendering, wherever it is, naming its field."""
        problems = unstorable_text(data)
        if problems:
            raise ValidationError(problems)
        return data


class DurationSchema(DocumentSchema):
    value = Number(
        required=True,
        validate=validate.Range(min=0, min_inclusive=False, max=hours_engine.MAX_DURATION_VALUE,
                                error=f"must be greater than 0 and at most {hours_engine.MAX_DURATION_VALUE}"),
        metadata={"example": 4},
    )
    unit = fields.String(
        required=True,
        validate=_one_of(DURATION_UNITS),
        metadata={"example": "business_hours"},
    )


class BookingSchema(DocumentSchema):
    method = fields.String(
        required=True,
        validate=_one_of(BOOKING_METHODS),
        metadata={"example": "form"},
    )
    url = Text(load_default=None, allow_none=True, validate=[validate.Length(max=2000), _link],
               metadata={"example": "https://intranet.example/forms/payroll"})
    instructions = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                        metadata={"example": "Use the form; attach your payslip."})

    @post_load
    def _canonical(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"method": data["method"], "url": data.get("url"), "instructions": data.get("instructions")}


class ContactSchema(DocumentSchema):
    kind = fields.String(
        required=True,
        validate=_one_of(CONTACT_KINDS),
        metadata={"example": "email"},
    )
    value = Text(required=True, validate=validate.Length(min=1, max=320),
                 metadata={"example": "payroll@example.com"})
    label = Text(load_default=None, allow_none=True, validate=validate.Length(max=200),
                 metadata={"example": "Team mailbox"})

    @validates_schema
    def _value_fits_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        value = data.get("value") or ""
        kind = data.get("kind")
        if kind == "email" and contacts.email_problem(value):
            raise ValidationError(contacts.email_problem(value), "value")
        if kind == "url":
            _link(value, "value")
        if kind == "phone" and not PHONE_RE.match(value):
            raise ValidationError("is not a phone number (digits first; a note may follow, e.g. '(866) 450-6588, press 2')",
                                  "value")

    @post_load
    def _canonical(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out = {"kind": data["kind"], "value": data["value"]}
        if data.get("label"):
            out["label"] = data["label"]
        return out


class ServiceSchema(DocumentSchema):
    name = Text(required=True, validate=validate.Length(min=1, max=200),
                metadata={"example": "Payslip corrections"})
    description = Text(load_default=None, allow_none=True, validate=validate.Length(max=5000),
                       metadata={"example": "Wrong amount, missing overtime."})
    turnaround = fields.Nested(DurationSchema, load_default=None, allow_none=True)
    booking = fields.Nested(BookingSchema, load_default=None, allow_none=True)

    @pre_load
    def _name_alone(self, data: Any, **kwargs: Any) -> Any:
        """A bare string is a service known only by its name (as many imported lists are)."""
        return {"name": data} if isinstance(data, str) else data

    @post_load
    def _canonical(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: data.get(k) for k in ("name", "description", "turnaround", "booking")}


class AutoReplyTemplateSchema(DocumentSchema):
    subject = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))
    body = Text(load_default=None, allow_none=True, validate=validate.Length(max=10_000))

    @validates_schema
    def _renders(self, data: dict[str, Any], **kwargs: Any) -> None:
        from directory.autoreply import check_template

        errors = check_template(data)
        if errors:
            raise ValidationError(errors)


class AtMost(validate.Validator):
    """A length limit that says how long the text is and how much to cut ("Description is 50,312
    characters; the most is 50,000 — shorten it by 312."), not marshmallow's bare "Longer than maximum length"."""

    def __init__(self, limit: int, label: str) -> None:
        self.limit, self.label = limit, label

    def __call__(self, value: str) -> str:
        if len(value) > self.limit:
            raise ValidationError(f"{self.label} is {len(value):,} characters; the most is {self.limit:,} — "
                                  f"shorten it by {len(value) - self.limit:,}.")
        return value


DESCRIPTION_MAX = 50_000


class NoticeSchema(DocumentSchema):
    """A temporary message (CONTRACT §1 `notices`); `ends` null means until the owner removes it."""

    message = Text(required=True, validate=AtMost(notices_engine.MESSAGE_MAX, "The message"),
                   metadata={"example": "Reduced capacity this week: replies may take a day longer."})
    starts = fields.Raw(required=True, metadata={"type": "string", "example": "2026-11-30",
                                                 "description": "a local date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM)"})
    ends = fields.Raw(load_default=None, allow_none=True, metadata={
        "type": "string", "nullable": True, "example": "2026-12-04",
        "description": "a date (inclusive) or date-time (exclusive) of the same kind as starts; null: until removed"})
    level = fields.String(load_default="info", validate=_one_of(NOTICE_LEVELS), metadata={"example": "info"})

    @pre_load
    def _blank_start(self, data: Any, **kwargs: Any) -> Any:
        """A null start (an empty "From" in the editor) is refused by `_span`, in the editor's words."""
        if isinstance(data, dict) and "starts" in data and data["starts"] is None:
            return {**data, "starts": ""}
        return data

    @validates_schema
    def _span(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "starts" in data:
            errors = notices_engine.validate_span(data["starts"], data.get("ends"))
            if errors:
                raise ValidationError(errors)

    @post_load
    def _canonical(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"message": data["message"], "starts": data["starts"], "ends": data.get("ends"),
                "level": data.get("level") or "info"}


class DumpedTeam(dict[str, Any]):
    """A team document that TeamSchema has dumped already, as cached reads keep them: dumping it
    again gives it back as it is, so serving one costs only its JSON encoding."""


class TeamSchema(DocumentSchema):
    """A team as CONTRACT §1 defines it, read and written alike."""

    slug = fields.String(
        validate=[
            validate.Length(min=1, max=80),
            validate.Regexp(SLUG_RE, error="must be lowercase letters, digits and single hyphens"),
        ],
        metadata={"example": "payroll"},
    )
    name = Text(required=True, validate=validate.Length(min=1, max=200), metadata={"example": "Payroll"})
    summary = Text(load_default=None, allow_none=True, validate=validate.Length(max=500),
                   metadata={"example": "Salaries, payslips, tax codes and expense reimbursement."})
    description = Text(load_default=None, allow_none=True, validate=AtMost(DESCRIPTION_MAX, "Description"),
                       metadata={"description": "Markdown; rendered sanitised on the page.", "maxLength": DESCRIPTION_MAX,
                                 "example": "We pay everyone. **Payslips** are online on the 25th."})
    department = Text(load_default=None, allow_none=True, validate=validate.Length(max=200),
                      metadata={"example": "Finance"})
    tags = fields.List(Text(validate=validate.Length(max=60)), load_default=list,
                       validate=validate.Length(max=30), metadata={"example": ["pay", "expenses", "tax"]})
    location = Text(load_default=None, allow_none=True, validate=validate.Length(max=200),
                    metadata={"example": "London HQ, floor 3"})
    timezone = fields.String(load_default="UTC", metadata={"example": "Europe/London"})
    hours = fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "weekly intervals per day (local HH:MM; end may be 24:00; end before start runs past "
                       "midnight), an optional public-holiday calendar and closures (whole days, end inclusive, "
                       "or local date-times). Absent: hours not published. `holidays.calendar` (optional, "
                       "with or without `country`) names an organisation holiday calendar as 'org:<slug>' "
                       "(see /api/v1/holiday-calendars); its days close the team like public holidays.",
        "example": {
            "weekly": {"mon": [["09:00", "12:30"], ["13:30", "17:30"]], "tue": [["09:00", "17:30"]],
                       "wed": [["09:00", "17:30"]], "thu": [["09:00", "17:30"]], "fri": [["09:00", "16:00"]],
                       "sat": [], "sun": []},
            "holidays": {"country": "GB", "subdivision": "ENG"},
            "closures": [{"start": "2026-12-24", "end": "2026-12-26", "reason": "Office closed"},
                         {"start": "2026-11-27T13:00", "end": "2026-11-27T17:30", "reason": "Team training"}],
        }})
    response_time = fields.Nested(DurationSchema, load_default=None, allow_none=True)
    booking = fields.Nested(BookingSchema, load_default=None, allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=50))
    services = fields.List(fields.Nested(ServiceSchema), load_default=list, validate=validate.Length(max=100))
    escalation = Text(load_default=None, allow_none=True, validate=validate.Length(max=5000),
                      metadata={"example": "Ask for the Payroll manager via the team mailbox, subject 'Escalation'."})
    owners = fields.List(EmailAddress(), load_default=list, validate=validate.Length(max=50),
                         metadata={"example": ["alice@example.com"]})
    last_reviewed = DateString(load_default=None, allow_none=True, metadata={"example": "2026-11-01"})
    auto_reply = fields.Nested(AutoReplyTemplateSchema, load_default=None, allow_none=True,
                               metadata={"description": "optional Jinja templates for the auto-reply"})
    notices = fields.List(fields.Nested(NoticeSchema), load_default=list, allow_none=True,
                          validate=validate.Length(max=notices_engine.NOTICES_MAX, error="at most {max} notices"),
                          metadata={"description": "temporary messages, shown while active on the page, in search, "
                                                   "status and auto-replies; absent when there are none"})

    # Read-only, added by the server; accepted and ignored on writes.
    url = fields.String(dump_only=True, metadata={"example": "https://directory.example/teams/payroll"})
    api_url = fields.String(dump_only=True, metadata={"example": "https://directory.example/api/v1/teams/payroll"})
    version = fields.Integer(dump_only=True, metadata={"example": 3, "description": "increments on each save"})
    created_at = fields.String(dump_only=True, metadata={"example": "2026-01-12T09:30:00+00:00"})
    updated_at = fields.String(dump_only=True, metadata={"example": "2026-11-20T16:02:11+00:00"})
    archived = fields.Boolean(dump_only=True, metadata={"description": "present (true) on archived teams only"})

    @validates_schema(skip_on_field_errors=False)
    def _time_rules(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        tz = data.get("timezone")
        if "timezone" in data:
            tz_errors = hours_engine.validate_timezone(tz)
            if tz_errors:
                errors["timezone"] = tz_errors
        if data.get("hours") is not None:
            nested: dict[str, Any] = {}
            for path, messages in hours_engine.validate_hours(data["hours"]).items():
                nested[path] = messages
            if nested:
                errors["hours"] = nested
        if errors:
            raise ValidationError(errors)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """A `DumpedTeam` is its own dump: rebuilding it field by field gives the same document."""
        whole = self.only is None and not self.exclude
        if isinstance(obj, DumpedTeam) and whole and not (self.many if many is None else many):
            return obj
        return super().dump(obj, many=many)

    @post_load
    def _canonical(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """One spelling for each document, so that equal teams compare equal and exports round-trip."""
        if data.get("tags") is not None:
            seen: dict[str, None] = {}
            for tag in data["tags"]:
                if tag:
                    seen.setdefault(tag.lower(), None)
            data["tags"] = list(seen)
        if data.get("owners") is not None:
            data["owners"] = list(dict.fromkeys(o.strip().lower() for o in data["owners"]))
        if data.get("hours") is not None:
            data["hours"] = _canonical_hours(data["hours"])
        return data


TEXT_FIELDS: tuple[str, ...] = tuple(
    name for name in TEAM_FIELDS if isinstance(TeamSchema._declared_fields[name], Text))
"""The fields that hold one free text (name, summary, description, ...), in document order: the
editor gives each one input and passes what was typed on as it is, blank included."""


def _canonical_hours(hours: dict[str, Any]) -> dict[str, Any]:
    """Every weekday present (closed days as []), and only the keys §1 defines."""
    weekly = hours.get("weekly") or {}
    out: dict[str, Any] = {
        "weekly": {day: [list(interval) for interval in weekly.get(day) or []] for day in vocabulary.WEEKDAYS}
    }
    if hours.get("holidays"):
        cal = hours["holidays"]
        out["holidays"] = {"country": str(cal["country"]).upper()} if cal.get("country") else {}
        if cal.get("subdivision"):
            out["holidays"]["subdivision"] = str(cal["subdivision"])
        if cal.get("calendar"):
            out["holidays"]["calendar"] = str(cal["calendar"])
    else:
        out["holidays"] = None
    out["closures"] = [
        {"start": c["start"], "end": c["end"], **({"reason": c["reason"]} if c.get("reason") else {})}
        for c in hours.get("closures") or []
    ]
    return out


def canonical_team(data: dict[str, Any]) -> dict[str, Any]:
    """A loaded document with every §1 key, in the contract's order."""
    return {key: data.get(key) for key in TEAM_FIELDS
            if (key != "slug" or data.get("slug")) and (key not in OMITTED_WHEN_EMPTY or data.get(key))}


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as {"hours.weekly.mon": [...], "services.0.turnaround.unit": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for sub, msgs in flatten_errors(value, path).items():
                flat.setdefault(sub, []).extend(msgs)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            for sub, msgs in flatten_errors(item, prefix).items():
                flat.setdefault(sub, []).extend(msgs)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def load_team(raw: Any, *, partial: bool = False) -> dict[str, Any]:
    """Validate one team document; raises InvalidTeam with every problem by field path."""
    if not isinstance(raw, dict):
        raise InvalidTeam("A team must be a JSON object.", {"_schema": ["must be an object"]})
    try:
        data = TeamSchema().load(raw, partial=partial)
    except ValidationError as exc:
        errors = flatten_errors(exc.messages)
        raise InvalidTeam("The team has invalid fields: " + ", ".join(errors), errors) from exc
    return data if partial else canonical_team(data)


def load_teams(document: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Validate a whole import file: (records, problems), each problem naming its record and field.

    Besides each record's own fields, this checks that no two records share a slug (records may
    share contact addresses: a parent team's mailbox is often listed by its sub-teams too).
    """
    from directory.services import slugify  # with the database layer: loaded only when a file is imported

    if not isinstance(document, list):
        kind = "an object" if isinstance(document, dict) else type(document).__name__
        return [], [f"the file must hold a list of teams, not {kind}"]
    records: list[dict[str, Any]] = []
    problems: list[tuple[int, str]] = []
    first_slug: dict[str, int] = {}
    for index, raw in enumerate(document):
        slug = None
        if isinstance(raw, dict):
            slug = raw.get("slug") or (slugify(raw["name"]) if isinstance(raw.get("name"), str) else None)
        # Shortened: the label starts every problem line of the record, so a huge slug would be repeated.
        shown = (slug if len(slug) <= 80 else f"{slug[:80]}…") if isinstance(slug, str) else None
        label = f"record {index}" + (f" ({shown})" if shown else "")
        try:
            record = load_team(raw)
        except InvalidTeam as exc:
            problems.extend((index, f"{label}: {path}: {'; '.join(msgs)}") for path, msgs in exc.errors.items())
            record = None
        if isinstance(slug, str):
            if slug in first_slug:
                problems.append((index, f"{label}: slug: duplicates record {first_slug[slug]}"))
            first_slug.setdefault(slug, index)
        if record is not None:
            if not record.get("slug"):
                record["slug"] = slug
            records.append(record)
    return records, [message for _index, message in sorted(problems, key=lambda p: p[0])]
