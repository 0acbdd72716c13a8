"""The searcher of the latest index generation and the caches derived from it.

A `Snapshot` holds one generation's searcher and what is computed from it (sort keys, facet
values, score and result caches); `SegmentCaches` holds what is read from a segment once and
kept for as long as the segment lives, across generations; `Snapshots` reopens the searcher when
another process commits.
"""

from __future__ import annotations

import contextlib
import functools
import os
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from search.documents import INDEX_NAME
from search.spelling import Speller
from search.storage import IndexUnusableError
from search.whoosh_internals import Leaf, leaves, read_positions, read_postings

# Memory budgets per SearchIndex (per worker process), in entries: a posting is 8 bytes in the
# postings cache, a cached score ~100. Caches are dropped whole when full (simple, and the
# terms people search for come back quickly).
POSTINGS_BUDGET = 2_000_000
SCORES_BUDGET = 300_000
RESULTS_CACHE = 16         # whole query results kept per index generation (paging, repeats)


def count_values(values: list[Any], docs: Iterable[int], many: bool) -> Counter[str]:
    """How many of `docs` have each facet value (`many`: each doc has a tuple of values)."""
    if many:
        return Counter(chain.from_iterable(map(values.__getitem__, docs)))
    return Counter(map(values.__getitem__, docs))


@dataclass
class SegmentDocs:
    """Facet and sort values of one segment's documents, by segment-local docnum."""

    ids: list[int]
    sort: list[str]
    department: list[str]
    location: list[str]
    tags: list[tuple[str, ...]]
    review: list[tuple[str, str]] = field(default_factory=list)  # (last reviewed, created) ISO dates


class SegmentCaches:
    """What is read from a segment once and kept while the segment is part of the index."""

    def __init__(self) -> None:
        self.segments: dict[str, SegmentDocs] = {}
        self._postings: dict[tuple[str, str, str], tuple[array[int], array[float]]] = {}
        self._postings_held = 0
        self._positions: dict[tuple[str, str, str], dict[int, bytes]] = {}
        self._speller = Speller()
        self._speller_segments: set[str] = set()

    def segment_docs(self, leaf: Leaf) -> SegmentDocs:
        docs = self.segments.get(leaf.segment_id)
        if docs is None:
            reader = leaf.reader
            docs = SegmentDocs([], [], [], [], [])
            for docnum in range(reader.doc_count_all()):
                stored = reader.stored_fields(docnum).get("doc") or {}
                docs.ids.append(stored.get("id", -1))
                docs.sort.append(stored.get("sort", ""))
                docs.department.append(stored.get("department", ""))
                docs.location.append(stored.get("location", ""))
                docs.tags.append(tuple(stored.get("tags", ())))
                docs.review.append((stored.get("reviewed") or "", stored.get("created") or ""))
            self.segments[leaf.segment_id] = docs
        return docs

    def forget_all_but(self, live_segments: set[str]) -> None:
        """Drop what belongs to segments merged away or deleted."""
        for gone in set(self.segments) - live_segments:
            del self.segments[gone]
        for key in [k for k in self._postings if k[0] not in live_segments]:
            self._postings_held -= len(self._postings.pop(key)[0])
        for key in [k for k in self._positions if k[0] not in live_segments]:
            del self._positions[key]

    def postings(self, leaf: Leaf, fieldname: str, text: str) -> tuple[array[int], array[float]]:
        """(segment-local docnums, weights) of a term, deleted documents included, cached."""
        key = (leaf.segment_id, fieldname, text)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        ids, weights = read_postings(leaf.reader, fieldname, text)
        result = (array("I", ids), array("f", weights))
        if self._postings_held + len(ids) > POSTINGS_BUDGET:
            self._postings.clear()
            self._postings_held = 0
        self._postings[key] = result
        self._postings_held += len(ids)
        return result

    def positions(self, leaf: Leaf, text: str) -> dict[int, bytes]:
        """Segment-local docnum -> encoded positions of a term in `body` (cached: phrases are
        rare, but one of two common words would otherwise cost a lot)."""
        key = (leaf.segment_id, "body:positions", text)
        cached = self._positions.get(key)
        if cached is not None:
            return cached
        found = read_positions(leaf.reader, "body", text)
        if len(self._positions) >= 32:
            self._positions.clear()
        self._positions[key] = found
        return found

    def speller(self, leaves: list[Leaf]) -> Speller:
        """The vocabulary of the current segments, added to incrementally as segments appear."""
        seg_ids = {leaf.segment_id for leaf in leaves}
        if self._speller_segments and not seg_ids & self._speller_segments:
            self._speller, self._speller_segments = Speller(), set()  # rebuilt from scratch: start over
        for leaf in leaves:
            if leaf.segment_id not in self._speller_segments:
                self._speller.add(term.decode("utf-8") for term in leaf.reader.lexicon("vocab"))
                self._speller_segments.add(leaf.segment_id)
        return self._speller


@dataclass
class Snapshot:
    """A searcher plus everything derived from its generation (cached until the index changes).

    What only some queries need (name order, per-value sets, facet totals) is computed on first
    use, so the first search after another process's write stays cheap."""

    searcher: Searcher
    generation: int
    leaves: list[Leaf]
    ids: list[int]
    sort: list[str]
    department: list[str]
    location: list[str]
    tags: list[tuple[str, ...]]
    live: set[int]
    caches: SegmentCaches
    known: dict[str, bool] = field(default_factory=dict)
    term_scores: dict[str, dict[int, float]] = field(default_factory=dict)
    concept_scores: dict[tuple[Any, ...], dict[int, float]] = field(default_factory=dict)
    scores_held: int = 0
    results: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    pages: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)
    stored: dict[int, dict[str, Any]] = field(default_factory=dict)
    review: list[tuple[str, str]] = field(default_factory=list)
    overdue_sets: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict)
    understood: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # q -> (synonyms, understanding)

    def overdue_docs(self, cutoffs: tuple[str, str]) -> frozenset[int]:
        """Every document overdue by `cutoffs`, worked out once per snapshot and day: each search
        then demotes the few overdue teams it matched instead of checking every one it scored."""
        found = self.overdue_sets.get(cutoffs)
        if found is None:
            found = frozenset(d for d in range(len(self.review)) if self.overdue(d, cutoffs))
            if len(self.overdue_sets) >= 4:
                self.overdue_sets.clear()
            self.overdue_sets[cutoffs] = found
        return found

    def overdue(self, docnum: int, cutoffs: tuple[str, str] | None) -> bool:
        """Overdue for review by `cutoffs` (`directory.reviews.Policy.overdue_cutoffs`): last
        reviewed on or before the first, or never reviewed and created on or before the second."""
        if cutoffs is None or docnum >= len(self.review):
            return False
        reviewed, created = self.review[docnum]
        return reviewed <= cutoffs[0] if reviewed else bool(created) and created <= cutoffs[1]

    def hold_scores(self, size: int) -> None:
        """Make room for `size` more cached scores, dropping the score caches when over budget."""
        if self.scores_held + size > SCORES_BUDGET:
            self.term_scores.clear()
            self.concept_scores.clear()
            self.scores_held = 0
        self.scores_held += size

    def document(self, docnum: int) -> dict[str, Any]:
        """The stored team dict of a docnum (cached)."""
        doc = self.stored.get(docnum)
        if doc is None:
            if len(self.stored) >= 4096:
                self.stored.clear()
            doc = self.stored[docnum] = self.searcher.stored_fields(docnum)["doc"]
        return doc

    @functools.cached_property
    def order(self) -> list[int]:
        """Live docnums by name (then id): the browse order and the tie-breaker."""
        return sorted(self.live, key=lambda d: (self.sort[d], self.ids[d]))

    @functools.cached_property
    def rank(self) -> list[int]:
        rank = [len(self.ids)] * len(self.ids)
        for position, d in enumerate(self.order):
            rank[d] = position
        return rank

    @functools.cached_property
    def docnum_of(self) -> dict[int, int]:
        return {self.ids[d]: d for d in self.live}

    def _members(self, values: list[Any], many: bool) -> dict[str, set[int]]:
        index: dict[str, set[int]] = {}
        for d in self.live:
            for value in (values[d] if many else (values[d],)):
                index.setdefault(value, set()).add(d)
        return index

    @functools.cached_property
    def by_department(self) -> dict[str, set[int]]:
        return self._members(self.department, False)

    @functools.cached_property
    def by_location(self) -> dict[str, set[int]]:
        return self._members(self.location, False)

    @functools.cached_property
    def by_tag(self) -> dict[str, set[int]]:
        return self._members(self.tags, True)

    @functools.cached_property
    def facet_totals(self) -> dict[str, Counter[str]]:
        return {"department": count_values(self.department, self.live, False),
                "tags": count_values(self.tags, self.live, True),
                "location": count_values(self.location, self.live, False)}


class Snapshots:
    """The snapshot of the latest committed generation of the index at `path`, reopened when it
    changed. Not thread-safe: the caller serialises access."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.caches = SegmentCaches()
        self._snapshot: Snapshot | None = None
        self._pid = os.getpid()

    def current(self) -> Snapshot:
        """The snapshot of the latest committed generation (reopened when it changed).

        Whoosh's `Searcher.refresh()` reuses segment readers whose deletions have since changed
        (deleted teams would reappear), so a changed index gets a freshly opened searcher.
        """
        if self._pid != os.getpid():  # forked: file handles are shared
            self._forget_parents()
        snap = self._snapshot
        if snap is not None and self._up_to_date(snap):
            return snap
        new = self._snapshot_of(self._open_searcher())
        if snap is not None:
            with contextlib.suppress(Exception):
                snap.searcher.close()
        self._snapshot = new
        return new

    def _up_to_date(self, snap: Snapshot) -> bool:
        try:
            return snap.searcher.up_to_date()  # one directory listing
        except OSError as exc:
            raise IndexUnusableError(f"search index {self.path} disappeared") from exc

    def _open_searcher(self) -> Searcher:
        try:
            return whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME).searcher()
        except Exception as exc:
            raise IndexUnusableError(f"search index {self.path} cannot be opened; rebuild it") from exc

    def _forget_parents(self) -> None:
        """Drop the searcher and segment documents read by the process this one was forked from."""
        self._snapshot = None
        self.caches.segments.clear()
        self._pid = os.getpid()

    def _snapshot_of(self, searcher: Searcher) -> Snapshot:
        ids: list[int] = []
        sort: list[str] = []
        department: list[str] = []
        location: list[str] = []
        tags: list[tuple[str, ...]] = []
        review: list[tuple[str, str]] = []
        found = leaves(searcher)
        for leaf in found:
            docs = self.caches.segment_docs(leaf)
            ids += docs.ids
            sort += docs.sort
            department += docs.department
            location += docs.location
            tags += docs.tags
            review += docs.review
        self.caches.forget_all_but({leaf.segment_id for leaf in found})
        live = set(range(len(ids)))
        for leaf in found:
            live.difference_update(leaf.offset + d for d in leaf.deleted)
        return Snapshot(searcher, searcher.reader().generation(), found, ids, sort, department, location, tags,
                        live, self.caches, review=review)

    def close(self) -> None:
        if self._snapshot is not None:
            self._snapshot.searcher.close()
            self._snapshot = None
