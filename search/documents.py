"""How a team dict becomes an index document, and the schema that holds it.

Everything here decides what is on disk: change it and bump SCHEMA_VERSION, so that running
processes see the old index as unusable and rebuild instead of misreading it.
"""

from __future__ import annotations

from array import array
from typing import Any

from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Positions
from whoosh.system import pack_uint

from search.analysis import (
    FastAnalyzer,
    SectionsAnalyzer,
    autocomplete_analyzer,
    contact_keys,
    fold,
    iter_strings,
    markdown_to_text,
    term_count,
    weighted_sections,
)

SCHEMA_VERSION = 3  # 2: review dates stored for the overdue demotion; 3: adopted search terms, owners' names
INDEX_NAME = f"teams_v{SCHEMA_VERSION}"

# BM25F field weights, applied at indexing time (changing them needs SCHEMA_VERSION + 1):
# (weight, length normalisation b, typical length in terms). Names and service names say what a
# team does most directly; descriptions are long and wander.
FIELDS: dict[str, tuple[float, float, float]] = {
    "name": (6.0, 0.5, 2.5),
    "services": (3.5, 0.5, 8.0),
    "tags": (3.0, 0.3, 4.0),
    "search_terms": (3.0, 0.3, 4.0),
    "summary": (2.5, 0.5, 12.0),
    "department": (1.5, 0.0, 1.5),
    "service_text": (1.2, 0.6, 25.0),
    "description": (1.0, 0.6, 100.0),
    "contacts": (1.0, 0.0, 4.0),
    "location": (0.8, 0.0, 3.0),
    "owners": (2.0, 0.0, 2.0),
}


class CompactPositions(Positions):
    """Whoosh's Positions format with positions packed as machine integers instead of pickled
    deltas: phrase checks decode positions of thousands of postings, and this decodes in C."""

    def encode(self, poslist: list[int]) -> bytes:
        return pack_uint(len(poslist)) + array("I", poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return decode_positions(valuestring)


def decode_positions(valuestring: bytes) -> list[int]:
    positions = array("I")
    positions.frombytes(valuestring[4:])
    return positions.tolist()


def codec() -> W3Codec:
    """Whoosh's codec without zlib on posting blocks: reading a term found in thousands of
    teams is a third faster, for a somewhat larger index.

    Writers also pass compound=False: Whoosh opens a compound segment by copying each of its
    files into a BytesIO (the whole postings file, for every reader opened), which made every
    update and every reopen after one cost tens of milliseconds and megabytes at 10,000 teams.
    Plain segment files are read in place."""
    return W3Codec(compression=0)


def build_schema() -> Schema:
    body = TEXT(analyzer=SectionsAnalyzer())
    body.format = CompactPositions()
    # Every text field stays "scorable" (Whoosh stores a length per team) although scoring
    # ignores those lengths (they are folded into the weights, see FIELDS): without the length
    # column Whoosh's writer checks the file system once per posting.
    return Schema(
        id=ID(unique=True),
        doc=STORED(),
        body=body,
        exact=KEYWORD(commas=True, scorable=True),
        vocab=TEXT(analyzer=FastAnalyzer(stemmed=False), phrase=False),
        ac_name=TEXT(analyzer=autocomplete_analyzer(), phrase=False),
        ac_more=TEXT(analyzer=FastAnalyzer(stemmed=False), phrase=False),
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _iso_date(value: Any) -> str:
    """YYYY-MM-DD from a date or date-time text, else "": compared as text against cut-off dates."""
    text = value[:10] if isinstance(value, str) else ""
    return text if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit() else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _field_boost(name: str, text: str) -> float:
    """BM25F's per-field term weight: the field weight, normalised by the field's length."""
    weight, b, typical = FIELDS[name]
    length = term_count(text) if b else 0
    return weight / (1.0 - b + b * max(length, 1) / typical) if b else weight


def _contact_words(value: str) -> str:
    """What of a contact value is worth matching as words: an address's local part and a
    channel's name, not the domain every address shares."""
    if "@" in value and "://" not in value:
        return value.split("@", 1)[0]
    return "" if "://" in value or value.lstrip("+").replace(" ", "").isdigit() else value


def document_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The index fields of one team. Tolerates missing or odd values: data is user input."""
    team_id = int(doc["id"])
    name, slug = _text(doc.get("name")), _text(doc.get("slug"))
    summary, department, location = _text(doc.get("summary")), _text(doc.get("department")), _text(doc.get("location"))
    description = markdown_to_text(_text(doc.get("description")))
    tags = list(dict.fromkeys(t.strip() for t in iter_strings(doc.get("tags"))))
    search_terms = list(dict.fromkeys(t.strip() for t in iter_strings(doc.get("search_terms"))))
    services = [(_text(s.get("name")), _text(s.get("description"))) if isinstance(s, dict) else (_text(s), "")
                for s in (doc.get("services") if isinstance(doc.get("services"), list) else ())]
    contacts = [_text(c.get("value")) for c in _dicts(doc.get("contacts")) if _text(c.get("value"))]
    # The names of the people who own the team, from their accounts (the caller looks them up):
    # staff search for a person they know to find what that person looks after.
    names = doc.get("owner_names")
    owners = list(dict.fromkeys(n.strip() for n in iter_strings(names if isinstance(names, list) else ())))
    exact = {slug.lower()} if slug else set()
    for value in contacts:
        exact |= contact_keys(value)
    texts = {
        "name": name,
        "summary": summary,
        "description": description,
        "services": "\n".join(n for n, _ in services if n),
        "service_text": "\n".join(d for _, d in services if d),
        "tags": "\n".join(tags),
        "search_terms": "\n".join(search_terms),
        "contacts": "\n".join(_contact_words(c) for c in contacts),
        "department": department,
        "location": location,
        "owners": "\n".join(owners),
    }
    return {
        "id": str(team_id),
        "doc": {
            "id": team_id, "slug": slug, "name": name, "summary": summary, "description": description,
            "department": department, "location": location, "tags": tags, "services": services,
            "sort": fold(name), "owners": owners,
            # For the overdue-review demotion, decided at query time (`directory.reviews`).
            "reviewed": _iso_date(doc.get("last_reviewed")), "created": _iso_date(doc.get("created_at")),
        },
        "body": weighted_sections((_field_boost(f, t), t) for f, t in texts.items() if t),
        "exact": ",".join(k for k in exact if "," not in k),
        "vocab": "\n".join(t for f, t in texts.items() if f != "contacts"),
        "ac_name": name,
        "ac_more": "\n".join([texts["services"], " ".join(tags), " ".join(search_terms), department]),
    }
