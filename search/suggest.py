"""Search as you type: teams whose words start with what was typed so far."""

from __future__ import annotations

from typing import Any

from search.analysis import AUTOCOMPLETE_MAX, words
from search.query import MAX_PREFIX_EXPANSIONS
from search.snapshots import Snapshot


def typed_words(prefix: str) -> list[str]:
    """The words typed so far, each cut to the longest prefix the index holds."""
    return [w[:AUTOCOMPLETE_MAX] for w in words(prefix or "")]


def complete(snap: Snapshot, tokens: list[str], limit: int) -> list[dict[str, Any]]:
    """Teams whose name, service, tag or department words start with what was typed so far.

    Every typed word must start some word of the team; teams matching in their name come
    first, then shorter names. Names hold edge n-grams (one term lookup per word); service
    and tag words are completed from the vocabulary (capped), so a keystroke costs little.
    """
    matched, in_name = _matching(snap, tokens)
    if not matched:
        return []
    first = tokens[0]
    ranked = sorted(matched, key=lambda d: (-in_name.get(d, 0), not snap.sort[d].startswith(first),
                                            len(snap.sort[d]), snap.sort[d]))[:limit]
    out = []
    for d in ranked:
        doc = snap.document(d)
        out.append({"slug": doc["slug"], "name": doc["name"], "department": doc["department"]})
    return out


def _matching(snap: Snapshot, tokens: list[str]) -> tuple[set[int], dict[int, int]]:
    """The teams with a word starting with every token, and how many tokens each has in its name."""
    reader = snap.searcher.reader()
    in_name: dict[int, int] = {}
    matched: set[int] | None = None
    for token in tokens:
        name_docs = docs_with(snap, "ac_name", token)
        other_docs: set[int] = set()
        for i, term in enumerate(reader.expand_prefix("ac_more", token)):
            if i >= MAX_PREFIX_EXPANSIONS:
                break
            other_docs |= docs_with(snap, "ac_more", term.decode("utf-8"))
        for d in name_docs:
            in_name[d] = in_name.get(d, 0) + 1
        token_docs = name_docs | other_docs
        matched = token_docs if matched is None else matched & token_docs
        if not matched:
            return set(), {}
    return matched or set(), in_name


def docs_with(snap: Snapshot, fieldname: str, text: str) -> set[int]:
    """Live docnums holding a term in a field."""
    docs: set[int] = set()
    for leaf in snap.leaves:
        ids, _weights = snap.caches.postings(leaf, fieldname, text)
        offset, deleted = leaf.offset, leaf.deleted
        docs.update(d + offset for d in ids if d not in deleted)
    return docs
