"""The team search index: the facade callers use (`SearchIndex`, `SearchResults`, the errors).

Works on plain team dicts (§1 of the contract plus `"id"`); the database glue lives elsewhere.
The parts live beside it: `storage` (files, state, locks, writers), `snapshots` (the current
searcher and its caches), `query` (query understanding), `scoring` (ranking and semantic
fusion), `facets`, `hits` (highlighting), `suggest` (search as you type) and
`whoosh_internals` (every use of Whoosh's private APIs).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from search.analysis import HighlightTerms
from search.facets import filter_and_count, frozen_filters
from search.hits import hit_of
from search.query import understand
from search.scoring import demote_overdue, lift_chosen, rank, strong_first, top
from search.semantic import Asker
from search.snapshots import RESULTS_CACHE, Snapshot, Snapshots
from search.storage import IndexLockedError, IndexStorage, IndexUnusableError
from search.suggest import complete, typed_words
from search.synonyms import SynonymFile

__all__ = ["IndexLockedError", "IndexUnusableError", "SearchIndex", "SearchResults"]


@dataclass
class SearchResults:
    """One page of hits plus what the whole result set looks like (total, facets).

    The `strong` matches of the whole set come first; each hit says whether it is one (`match`:
    "strong" or "related", see `search.scoring.strong_matches`). None when unknown."""

    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    page: int
    page_size: int
    strong: int | None = None


class SearchIndex(IndexStorage):
    """A team index at `path`, safe to share between the worker processes of one host.

    Each instance keeps one searcher (reopened when another process commits) and caches derived
    from it; instances are thread-safe. Writes take a file lock for at most `lock_timeout`
    seconds, then raise IndexLockedError.
    """

    def __init__(self, path: str | os.PathLike[str], synonyms_path: str | os.PathLike[str] | None = None,
                 lock_timeout: float = 10.0) -> None:
        super().__init__(path, lock_timeout)
        self.synonyms = SynonymFile(synonyms_path)
        self._lock = threading.RLock()
        self._snapshots = Snapshots(self.path)

    def close(self) -> None:
        with self._lock:
            self._snapshots.close()

    def query(self, q: str, *, filters: dict[str, list[str]] | None = None, open_ids: set[int] | None = None,
              open_now: bool = False, page: int = 1, page_size: int = 20,
              review_cutoffs: tuple[str, str] | None = None,
              semantic: tuple[Any, Asker] | None = None,
              lifts: dict[int, float] | None = None) -> SearchResults:
        """Ranked, filtered, faceted, highlighted results for what someone typed.

        An empty query lists every team by name. Facet counts cover the whole result set; the
        counts of a facet ignore that facet's own filter (so its other values stay selectable)
        but apply the others'. `open_now` restricts to `open_ids` (nothing, when None). Teams
        overdue for review by `review_cutoffs` score REVIEW_PENALTY times less and say so in
        their hit (`review_overdue`); they are never left out. `semantic` is (the vectors' version,
        a `search.semantic.Asker` for every team's cosine similarity to the query): scores then
        blend words and meaning (`search.semantic.fuse`). `lifts` ({team id: fraction}) raises
        the teams people chose for this query (`search.scoring.lift_chosen`).
        """
        page, page_size = max(1, int(page)), max(1, int(page_size))
        q = (q or "").strip()
        filters = filters or {}
        with self._lock:
            snap = self._snapshots.current()
            if snap.searcher.doc_count_all() == 0:  # a new, empty directory: nothing to rank (or to divide by)
                return SearchResults(0, [], {}, None, page, page_size, 0)
            self.synonyms.get()  # reloads a changed file; its version is part of the key
            key = (q, frozen_filters(filters), open_now, None if open_ids is None else frozenset(open_ids),
                   self.synonyms.version, review_cutoffs, semantic and semantic[0],
                   frozenset(lifts.items()) if lifts else None)
            cached = snap.results.get(key)
            if cached is None:
                cached = self._evaluate(snap, q, filters, open_ids, open_now, semantic and semantic[1])
                if review_cutoffs is not None and cached[0]:
                    cached = (demote_overdue(snap, cached[0], review_cutoffs), *cached[1:])
                if lifts and cached[0]:
                    cached = (lift_chosen(snap, cached[0], lifts), *cached[1:])
                if len(snap.results) >= RESULTS_CACHE:
                    del snap.results[next(iter(snap.results))]
                snap.results[key] = cached
            scores, allowed, facets, suggestion, terms, strong = cached
            page_key = (key, page, page_size)
            hits = snap.pages.get(page_key)
            if hits is None:  # highlighting is the costly part of a repeated query: keep the page
                start = (page - 1) * page_size
                ranked = top(snap, allowed, strong_first(snap, scores, strong), start + page_size)[start:]
                hits = [hit_of(snap, d, scores.get(d, 0.0), terms) for d in ranked]
                for d, hit in zip(ranked, hits, strict=True):
                    hit["review_overdue"] = snap.overdue(d, review_cutoffs)
                    hit["match"] = "strong" if d in strong else "related"
                if len(snap.pages) >= RESULTS_CACHE * 4:
                    del snap.pages[next(iter(snap.pages))]
                snap.pages[page_key] = hits
        return SearchResults(len(allowed), [dict(hit, highlights=dict(hit["highlights"])) for hit in hits],
                             {k: dict(v) for k, v in facets.items()}, suggestion, page, page_size, len(strong))

    def _evaluate(self, snap: Snapshot, q: str, filters: dict[str, list[str]], open_ids: set[int] | None,
                  open_now: bool, similarity: Asker | None = None
                  ) -> tuple[dict[int, float], set[int], dict[str, dict[str, int]], str | None, HighlightTerms,
                             set[int]]:
        """Everything about a query but its page: scores, the filtered set, facets, suggestion, and
        which of the filtered set are strong matches."""
        scores, matched, suggestion, terms, strong = rank(snap, self.synonyms.get(), q, similarity)
        allowed, facets = filter_and_count(snap, matched, filters, open_ids, open_now)
        return scores, allowed, facets, suggestion, terms, allowed if strong is matched else strong & allowed

    def corrections(self, q: str) -> dict[str, str]:
        """The words of `q` that `query` would correct (folded word -> replacement), for a caller
        that starts working out its meaning before asking (`directory.search_service`)."""
        with self._lock:
            snap = self._snapshots.current()
        return understand(snap, self.synonyms.get(), q)[1] if q and q != "*" else {}

    def suggest(self, prefix: str, limit: int = 8) -> list[dict[str, Any]]:
        """Teams whose name, service, tag or department words start with what was typed so far
        (see `search.suggest.complete`), at most `limit` of them."""
        tokens = typed_words(prefix)
        if not tokens or limit <= 0:
            return []
        with self._lock:
            return complete(self._snapshots.current(), tokens, limit)
