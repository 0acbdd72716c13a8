"""One result as the results page shows it: the team's stored fields and its highlighted matches."""

from __future__ import annotations

from typing import Any

from search.analysis import HighlightTerms, highlight
from search.snapshots import Snapshot


def hit_of(snap: Snapshot, docnum: int, score: float, terms: HighlightTerms) -> dict[str, Any]:
    doc = snap.document(docnum)
    highlights: dict[str, str] = {}
    if terms:
        for name in ("name", "summary", "department", "location"):
            marked = highlight(doc.get(name) or "", terms)
            if marked:
                highlights[name] = marked
        marked = highlight(doc.get("description") or "", terms, max_chars=240)
        if marked:
            highlights["description"] = marked
        tags = [t for t in (highlight(tag, terms) for tag in doc.get("tags", ())) if t]
        if tags:
            highlights["tags"] = ", ".join(tags)
        services = []
        for name, text in doc.get("services", ()):
            marked = highlight(f"{name}: {text}" if text else name, terms, max_chars=200)
            if marked:
                services.append(marked)
        if services:
            highlights["services"] = " · ".join(services)
        owners = [o for o in (highlight(owner, terms) for owner in doc.get("owners", ())) if o]
        if owners:
            highlights["owners"] = ", ".join(owners)
    return {
        "id": doc["id"], "slug": doc["slug"], "name": doc["name"], "summary": doc["summary"],
        "department": doc["department"], "score": round(score, 4), "highlights": highlights,
        "last_reviewed": doc.get("reviewed") or None,
    }
