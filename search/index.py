"""The team search index: a Whoosh index on disk, shared by every worker process on a host.

Works on plain team dicts (§1 of the contract plus `"id"`); the database glue lives elsewhere.

On-disk layout of `path`:
- Whoosh files named after `INDEX_NAME`, which carries the schema version, so an index written
  by an older release is simply "absent" to this one (and `is_usable()` says False).
- `state.json`: schema version, the last change sequence applied (every change up to it is in
  the index) and `applied`, which teams were indexed as of which change above a recent point
  (so a change whose update failed is told apart from one applied out of order), written
  atomically while the write lock is held, after the index commit (a crash in between leaves
  the state behind the index, never ahead, so a catch-up re-applies rather than skips).
- `<INDEX_NAME>_WRITELOCK`: an fcntl lock every writer takes (the same file Whoosh's own
  writer would lock), with a timeout.
- `.<dirname>.rebuild-lock`, beside the folder (so it survives the folder being deleted): held
  for a whole rebuild, so that of the processes noticing a lost index only one rebuilds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import heapq
import json
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import add, mul, sub, truediv
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.filedb.filestore import FileStorage
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import Term
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from search.analysis import (
    AUTOCOMPLETE_MAX,
    INDEX_STOP_WORDS,
    QUERY_STOP_WORDS,
    TOKEN_PATTERN,
    HighlightTerms,
    contact_keys,
    fold,
    highlight,
    stem,
    words,
)
from search.documents import INDEX_NAME, SCHEMA_VERSION, build_schema, codec, decode_positions, document_fields
from search.semantic import fuse
from search.spelling import Speller, max_distance
from search.synonyms import SynonymFile, entry_stems

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
_OLD_VERSION_FILE = re.compile(r"^_?teams_v(\d+)_")

K1 = 2.0                   # term-weight saturation: higher lets field weights matter more
SYNONYM_WEIGHT = 0.8       # a synonym counts a little less than the word typed
PREFIX_WEIGHT = 0.7        # as does a word completed from a prefix
CORRECTION_WEIGHT = 0.9    # and a corrected typo
SPLIT_WORD_WEIGHT = 0.5    # a word of a multi-word synonym, found on its own
DISMAX_TIEBREAK = 0.3      # a team matching several alternatives of one concept gains a little
EXACT_BONUS = 1000.0       # an exact contact address or slug puts its team first
REVIEW_PENALTY = 0.85      # a page overdue for review ranks a little lower, never out of the results
MAX_PREFIX_EXPANSIONS = 16
SHORT_QUERY = 3            # implicit prefix on the last word only up to this many words
MIN_CORRECTED_IN_CONTEXT = 5  # shortest unknown word corrected when the query has other words
FEW_HITS = 2               # a known word in at most this many teams may still be a typo
MAX_QUERY_WORDS = 32       # a pasted paragraph is searched by its first words
# Memory budgets per SearchIndex (per worker process), in entries: a posting is 8 bytes in the
# postings cache, a cached score ~100. Caches are dropped whole when full (simple, and the
# terms people search for come back quickly).
POSTINGS_BUDGET = 2_000_000
SCORES_BUDGET = 300_000
RESULTS_CACHE = 16         # whole query results kept per index generation (paging, repeats)


class IndexLockedError(RuntimeError):
    """Another writer held the index lock for longer than the timeout."""


class IndexUnusableError(RuntimeError):
    """The index is missing, corrupt or of another schema version: rebuild it."""


@dataclass
class SearchResults:
    """One page of hits plus what the whole result set looks like (total, facets)."""

    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    page: int
    page_size: int


# -- query parsing -----------------------------------------------------------------------------


@dataclass
class _Concept:
    """One thing the user asked for: the alternatives (stem tuples, weight) any of which will do."""

    alternatives: dict[tuple[str, ...], float]
    prefixes: tuple[str, ...] = ()  # for highlighting completed words

    def add(self, stems: tuple[str, ...], weight: float) -> None:
        if stems and weight > self.alternatives.get(stems, 0.0):
            self.alternatives[stems] = weight


_QUERY_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass
class _Item:
    kind: str          # "word", "phrase" or "prefix"
    text: str          # folded word, prefix, or phrase text


def _parse(q: str) -> list[_Item]:
    items: list[_Item] = []
    for m in _QUERY_TOKEN.finditer(q):
        if m.group(1) is not None:
            if words(m.group(1)):
                items.append(_Item("phrase", m.group(1)))
            continue
        token = m.group(2)
        if token.endswith("*") and len(words(token)) == 1:
            items.append(_Item("prefix", words(token)[0]))
            continue
        items.extend(_Item("word", w) for w in words(token))
    return items


_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{5,}$")


def _is_contact(q: str) -> bool:
    """Whether the query is one contact value (an address, a channel, a phone number, a URL)."""
    q = q.strip()
    if _PHONE_LIKE.match(q):
        return True
    return len(q.split()) == 1 and ("@" in q or q.startswith("#") or "://" in q)


def _replace_words(q: str, replacements: dict[str, str]) -> str:
    """The query as typed, with corrected words swapped in (for "did you mean")."""
    return _WORD.sub(lambda m: replacements.get(fold(m.group()), m.group()), q)


_WORD = re.compile(TOKEN_PATTERN)


def _frozen_filters(filters: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((k, tuple(sorted(v for v in values if isinstance(v, str))))
                        for k, values in filters.items() if values))


def _count_values(values: list[Any], docs: Iterable[int], many: bool) -> Counter[str]:
    """How many of `docs` have each facet value (`many`: each doc has a tuple of values)."""
    if many:
        return Counter(chain.from_iterable(map(values.__getitem__, docs)))
    return Counter(map(values.__getitem__, docs))


# -- per-generation state ----------------------------------------------------------------------


@dataclass
class _SegmentDocs:
    """Facet and sort values of one segment's documents, by segment-local docnum."""

    ids: list[int]
    sort: list[str]
    department: list[str]
    location: list[str]
    tags: list[tuple[str, ...]]
    review: list[tuple[str, str]] = field(default_factory=list)  # (last reviewed, created) ISO dates


@dataclass
class _Leaf:
    reader: Any
    segment_id: str
    offset: int
    size: int
    deleted: frozenset[int]


@dataclass
class _Snapshot:
    """A searcher plus everything derived from its generation (cached until the index changes).

    What only some queries need (name order, per-value sets, facet totals) is computed on first
    use, so the first search after another process's write stays cheap."""

    searcher: Searcher
    generation: int
    leaves: list[_Leaf]
    ids: list[int]
    sort: list[str]
    department: list[str]
    location: list[str]
    tags: list[tuple[str, ...]]
    live: set[int]
    known: dict[str, bool] = field(default_factory=dict)
    term_scores: dict[str, dict[int, float]] = field(default_factory=dict)
    concept_scores: dict[tuple[Any, ...], dict[int, float]] = field(default_factory=dict)
    scores_held: int = 0
    results: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    pages: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)
    stored: dict[int, dict[str, Any]] = field(default_factory=dict)
    review: list[tuple[str, str]] = field(default_factory=list)

    def overdue(self, docnum: int, cutoffs: tuple[str, str] | None) -> bool:
        """Overdue for review by `cutoffs` (`directory.reviews.Policy.overdue_cutoffs`): last
        reviewed on or before the first, or never reviewed and created on or before the second."""
        if cutoffs is None or docnum >= len(self.review):
            return False
        reviewed, created = self.review[docnum]
        return reviewed <= cutoffs[0] if reviewed else bool(created) and created <= cutoffs[1]

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
        return {"department": _count_values(self.department, self.live, False),
                "tags": _count_values(self.tags, self.live, True),
                "location": _count_values(self.location, self.live, False)}


class SearchIndex:
    """A team index at `path`, safe to share between the worker processes of one host.

    Each instance keeps one searcher (reopened when another process commits) and caches derived
    from it; instances are thread-safe. Writes take a file lock for at most `lock_timeout`
    seconds, then raise IndexLockedError.
    """

    def __init__(self, path: str | os.PathLike[str], synonyms_path: str | os.PathLike[str] | None = None,
                 lock_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.synonyms = SynonymFile(synonyms_path)
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._pid = os.getpid()
        self._segments: dict[str, _SegmentDocs] = {}
        self._postings: dict[tuple[str, str, str], tuple[array[int], array[float]]] = {}
        self._postings_held = 0
        self._positions: dict[tuple[str, str, str], dict[int, bytes]] = {}
        self._speller = Speller()
        self._speller_segments: set[str] = set()

    # -- state and health ---------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any] | None:
        """The sidecar, read afresh each time (a few dozen microseconds): caching it by mtime
        could miss a write made within the same clock tick by another process."""
        try:
            state = json.loads((self.path / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def _write_state(self, seq: int, *, replace: bool = False, applied: dict[int, int] | None = None,
                     keep_after: int | None = None) -> None:
        """Record `seq` (max with the stored one unless `replace`) and merge `applied` (team id ->
        change), forgetting entries at or below `keep_after`. Call with the write lock held."""
        old_seq, old_applied = (0, {}) if replace else self.state()
        new = int(seq) if replace else max(int(seq), old_seq)
        merged = dict(old_applied)
        for team_id, change in (applied or {}).items():
            merged[int(team_id)] = max(int(change), merged.get(int(team_id), 0))
        if keep_after is not None:
            merged = {t: c for t, c in merged.items() if c > keep_after}
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"schema_version": SCHEMA_VERSION, "last_seq": new, "updated_at": time.time(),
                       "applied": {str(t): c for t, c in sorted(merged.items())}}, f)
        os.replace(tmp, self.path / STATE_FILE)

    def state(self) -> tuple[int, dict[int, int]]:
        """(last change sequence applied, {team id: change it was indexed as of}); (0, {}) when
        unknown. One small file read: cheap enough to call per search."""
        state = self._read_state()
        if not state or state.get("schema_version") != SCHEMA_VERSION:
            return 0, {}
        try:
            seq = int(state.get("last_seq") or 0)
            raw = state.get("applied") or {}
            applied = {int(t): int(c) for t, c in raw.items()} if isinstance(raw, dict) else {}
        except (TypeError, ValueError, AttributeError):
            return 0, {}
        return seq, applied

    def last_seq(self) -> int:
        """The last change sequence applied (0 when unknown). Cheap enough to call per search."""
        return self.state()[0]

    def is_usable(self) -> bool:
        """True when the index exists, opens and has this release's schema. Never raises."""
        try:
            state = self._read_state()
            if not state or state.get("schema_version") != SCHEMA_VERSION:
                return False
            if not whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
                return False
            ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
            if sorted(ix.schema.names()) != sorted(build_schema().names()):
                return False
            with ix.reader() as reader:  # touch each kind of file: stored fields, terms, postings
                for docnum in reader.all_doc_ids():
                    reader.stored_fields(docnum)
                    break
                for term in reader.lexicon("body"):
                    list(reader.postings("body", term).all_ids())
                    break
            return True
        except Exception:
            log.debug("search index at %s is not usable", self.path, exc_info=True)
            return False

    # -- writing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def rebuild_lock(self) -> Iterator[None]:
        """Held for a whole rebuild, waiting as long as another process's rebuild takes.

        Beside the index folder rather than in it, so that deleting the folder does not give
        each process a lock file of its own. A flock is per open file, so threads of one
        process exclude each other too.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent / f".{self.path.name}.rebuild-lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """The index's write lock, retried with jitter until `lock_timeout`."""
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileStorage(str(self.path)).lock(f"{INDEX_NAME}_WRITELOCK")
        deadline = time.monotonic() + self.lock_timeout
        while not lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise IndexLockedError(
                    f"search index {self.path} stayed locked by another writer for {self.lock_timeout:g}s"
                )
            time.sleep(random.uniform(0.005, 0.03))
        try:
            yield
        finally:
            lock.release()

    def rebuild(self, docs: Iterable[dict[str, Any]], seq: int,
                progress: Callable[[int], None] | None = None, applied: dict[int, int] | None = None) -> int:
        """Index `docs` from scratch and record `seq` as the last change applied (and `applied`,
        as in `apply`); returns the count. Callers serialise rebuilds with `rebuild_lock()`.

        The new index is written in a scratch directory without holding the lock, then swapped
        in under the lock with one atomic table-of-contents write, so searches never see a
        half-built index and other writers wait only for the swap. Changes applied by others
        while building are replaced by this snapshot; since `seq` is recorded as is, a catch-up
        from `last_seq()` re-applies them.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        self._remove_stale_builds()
        build_dir = Path(tempfile.mkdtemp(prefix=".build-", dir=self.path))
        try:
            build_storage = FileStorage(str(build_dir))
            build_ix = build_storage.create_index(build_schema(), indexname=INDEX_NAME)
            writer = build_ix.writer(limitmb=256, codec=codec(), compound=False)
            count = 0
            try:
                for doc in docs:
                    writer.add_document(**document_fields(doc))
                    count += 1
                    if progress is not None and count % 500 == 0:
                        progress(count)
                writer.commit(optimize=True)
            except BaseException:
                writer.cancel()
                raise
            toc = whoosh_index.TOC.read(build_storage, INDEX_NAME)
            segment_file = whoosh_index.TOC._segment_pattern(INDEX_NAME)
            with self._write_lock():
                storage = FileStorage(str(self.path))
                for name in os.listdir(build_dir):
                    if segment_file.match(name):
                        os.replace(build_dir / name, self.path / name)
                # Open searchers notice a new index by its generation number alone, so a directory
                # deleted and recreated starts at a random one rather than at 0 again.
                latest = whoosh_index.TOC._latest_generation(storage, INDEX_NAME)
                generation = latest + 1 if latest >= 0 else random.randrange(1, 2**30)
                whoosh_index.TOC(toc.schema, toc.segments, generation).write(storage, INDEX_NAME)
                whoosh_index.clean_files(storage, INDEX_NAME, generation, toc.segments)
                self._remove_other_versions()
                self._write_state(seq, replace=True, applied=applied)
            if progress is not None:
                progress(count)
            return count
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)

    def apply(self, upserts: Iterable[dict[str, Any]], deletes: Iterable[int], seq: int,
              applied: dict[int, int] | None = None, keep_after: int | None = None) -> None:
        """Upsert and delete teams by id in one commit; record `seq` if above the stored one.

        `applied` (team id -> change the written document is as of) is merged into the state,
        whose entries at or below `keep_after` are forgotten; see `state()`. Idempotent, so
        replaying a range of changes is harmless. A team both upserted and deleted in one call
        ends up deleted.
        """
        delete_ids = list(dict.fromkeys(str(int(i)) for i in deletes))
        doomed = set(delete_ids)
        # Whoosh cannot delete what the same writer added, so a deleted team is never added.
        fields = [f for f in (document_fields(doc) for doc in upserts) if f["id"] not in doomed]
        with self._write_lock():
            if fields or delete_ids:
                try:
                    ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
                except Exception as exc:
                    raise IndexUnusableError(f"search index {self.path} cannot be opened; rebuild it") from exc
                # _lk=False: we already hold that very lock file.
                writer = ix.writer(_lk=False, codec=codec(), compound=False)
                try:
                    for doc_fields in fields:
                        writer.update_document(**doc_fields)
                    for team_id in delete_ids:
                        writer.delete_by_term("id", team_id)
                    writer.commit()
                except BaseException:
                    if not writer.is_closed:
                        writer.cancel()
                    raise
            self._write_state(seq, applied=applied, keep_after=keep_after)

    def _remove_stale_builds(self) -> None:
        """Scratch directories left by a rebuild whose process died."""
        for entry in self.path.glob(".build-*"):
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > 3600:
                    shutil.rmtree(entry, ignore_errors=True)

    def _remove_other_versions(self) -> None:
        for name in os.listdir(self.path):
            m = _OLD_VERSION_FILE.match(name)
            if m and int(m.group(1)) != SCHEMA_VERSION and not name.endswith("_WRITELOCK"):
                with contextlib.suppress(OSError):
                    os.remove(self.path / name)

    # -- the current searcher -------------------------------------------------------------------

    def _current(self) -> _Snapshot:
        """The snapshot of the latest committed generation (reopened when it changed).

        Whoosh's `Searcher.refresh()` reuses segment readers whose deletions have since changed
        (deleted teams would reappear), so a changed index gets a freshly opened searcher.
        """
        snap = self._snapshot
        if snap is not None and self._pid != os.getpid():  # forked: file handles are shared
            self._snapshot = snap = None
            self._segments.clear()
            self._pid = os.getpid()
        if snap is not None:
            try:
                if snap.searcher.up_to_date():  # one directory listing
                    return snap
            except OSError as exc:
                raise IndexUnusableError(f"search index {self.path} disappeared") from exc
        try:
            ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
            searcher = ix.searcher()
        except Exception as exc:
            raise IndexUnusableError(f"search index {self.path} cannot be opened; rebuild it") from exc
        new = self._snapshot_of(searcher)
        if snap is not None:
            with contextlib.suppress(Exception):
                snap.searcher.close()
        self._snapshot = new
        return new

    def _snapshot_of(self, searcher: Searcher) -> _Snapshot:
        ids: list[int] = []
        sort: list[str] = []
        department: list[str] = []
        location: list[str] = []
        tags: list[tuple[str, ...]] = []
        review: list[tuple[str, str]] = []
        leaves: list[_Leaf] = []
        for leaf_searcher, offset in searcher.leaf_searchers():
            reader = leaf_searcher.reader()
            segment = reader.segment()
            seg_id = segment.segment_id() if segment is not None else f"anon-{id(reader)}"
            deleted = frozenset(reader.deleted_docs_set or ())
            leaves.append(_Leaf(reader, seg_id, offset, reader.doc_count_all(), deleted))
            docs = self._segments.get(seg_id)
            if docs is None:
                docs = _SegmentDocs([], [], [], [], [])
                for docnum in range(reader.doc_count_all()):
                    stored = reader.stored_fields(docnum).get("doc") or {}
                    docs.ids.append(stored.get("id", -1))
                    docs.sort.append(stored.get("sort", ""))
                    docs.department.append(stored.get("department", ""))
                    docs.location.append(stored.get("location", ""))
                    docs.tags.append(tuple(stored.get("tags", ())))
                    docs.review.append((stored.get("reviewed") or "", stored.get("created") or ""))
                self._segments[seg_id] = docs
            ids += docs.ids
            sort += docs.sort
            department += docs.department
            location += docs.location
            tags += docs.tags
            review += docs.review
        live_segments = {leaf.segment_id for leaf in leaves}
        for gone in set(self._segments) - live_segments:
            del self._segments[gone]
        for key in [k for k in self._postings if k[0] not in live_segments]:
            self._postings_held -= len(self._postings.pop(key)[0])
        for key in [k for k in self._positions if k[0] not in live_segments]:
            del self._positions[key]
        live = set(range(len(ids)))
        for leaf in leaves:
            live.difference_update(leaf.offset + d for d in leaf.deleted)
        return _Snapshot(searcher, searcher.reader().generation(), leaves, ids, sort, department, location, tags,
                         live, review=review)

    def _speller_for(self, snap: _Snapshot) -> Speller:
        """The vocabulary of the current segments, added to incrementally as segments appear."""
        seg_ids = {leaf.segment_id for leaf in snap.leaves}
        if self._speller_segments and not seg_ids & self._speller_segments:
            self._speller, self._speller_segments = Speller(), set()  # rebuilt from scratch: start over
        for leaf in snap.leaves:
            if leaf.segment_id not in self._speller_segments:
                self._speller.add(term.decode("utf-8") for term in leaf.reader.lexicon("vocab"))
                self._speller_segments.add(leaf.segment_id)
        return self._speller

    def close(self) -> None:
        with self._lock:
            if self._snapshot is not None:
                self._snapshot.searcher.close()
                self._snapshot = None

    # -- querying -----------------------------------------------------------------------------

    def _is_known(self, snap: _Snapshot, stem_text: str) -> bool:
        known = snap.known.get(stem_text)
        if known is None:
            reader = snap.searcher.reader()
            known = reader.doc_frequency("body", stem_text) > 0
            snap.known[stem_text] = known
        return known

    def _expand_prefix(self, snap: _Snapshot, prefix: str) -> list[str]:
        """Vocabulary words starting with `prefix`, most frequent first."""
        if len(prefix) < 2:
            return []
        reader = snap.searcher.reader()
        found = []
        for i, term in enumerate(reader.expand_prefix("vocab", prefix)):
            if i >= 400:
                break
            found.append(term.decode("utf-8"))
        found.sort(key=lambda w: -reader.doc_frequency("vocab", w))
        return found[:MAX_PREFIX_EXPANSIONS]

    def _correct(self, snap: _Snapshot, word: str, *, max_dist: int | None = None, min_df: int = 1) -> str | None:
        """The likeliest intended vocabulary word for `word`, or None: nearest first, then a
        shared first letter (typos rarely hit it), then the most teams."""
        if max_distance(word) == 0 or not word.isalpha():
            return None
        reader = snap.searcher.reader()
        best: tuple[Any, ...] | None = None
        for cand, dist in self._speller_for(snap).candidates(word, max_dist):
            if dist == 2 and cand[0] != word[0]:
                continue
            df = reader.doc_frequency("vocab", cand)
            if df < min_df or stem(cand) == stem(word):
                continue
            key = (dist, cand[0] != word[0], -df, cand)
            if best is None or key < best:
                best = key
        return best[-1] if best else None

    def _rare_word_fix(self, snap: _Snapshot, word: str, stem_text: str) -> str | None:
        """A much commoner near-identical word for a word only a team or two use ("payrol" in
        one team's typo'd text, when "payroll" is everywhere), else None."""
        if len(word) < MIN_CORRECTED_IN_CONTEXT:
            return None
        df = snap.searcher.reader().doc_frequency("body", stem_text)
        if df > FEW_HITS:
            return None
        return self._correct(snap, word, max_dist=1, min_df=max(5, 10 * df))

    def _concepts(self, snap: _Snapshot, q: str) -> tuple[list[_Concept], dict[str, str]]:
        """What the query asks for, after synonyms, stop words, prefixes and corrections."""
        items = _parse(q)[:MAX_QUERY_WORDS]
        synonyms = self.synonyms.get()
        concepts: list[_Concept] = []
        corrected: dict[str, str] = {}

        # Synonym entries are recognised on the words as typed (stop words included: "log in").
        keys = [stem(it.text) if it.kind == "word" else "\x00" for it in items]
        in_span: dict[int, tuple[int, int]] = {}
        for start, end in synonyms.spans(keys) if synonyms.longest else ():
            if all(items[k].text in QUERY_STOP_WORDS for k in range(start, end)):
                continue
            for k in range(start, end):
                in_span[k] = (start, end)

        def is_content(i: int, it: _Item) -> bool:
            return it.kind != "word" or i in in_span or (it.text not in QUERY_STOP_WORDS and len(it.text) >= 2)

        content = [i for i, it in enumerate(items) if is_content(i, it)]
        if not content:  # only question words: search them anyway, but not the index's stop words
            content = [i for i, it in enumerate(items) if it.text not in INDEX_STOP_WORDS and len(it.text) >= 2]

        done_spans: set[tuple[int, int]] = set()
        last = content[-1] if content else -1
        short = len(content) <= SHORT_QUERY
        for i in content:
            item = items[i]
            if i in in_span:
                span = in_span[i]
                if span in done_spans:
                    continue
                done_spans.add(span)
                typed = " ".join(items[k].text for k in range(*span))
                concept = _Concept({})
                typed_stems = entry_stems(typed)
                concept.add(typed_stems, 1.0)
                for alt in synonyms.expand(tuple(keys[span[0]:span[1]])):
                    concept.add(alt.stems, SYNONYM_WEIGHT * len(alt.stems) / len(alt.key))
                if len(typed_stems) > 1:
                    for s in typed_stems:
                        concept.add((s,), SPLIT_WORD_WEIGHT)
                if concept.alternatives:
                    concepts.append(concept)
            elif item.kind == "phrase":
                phrase = entry_stems(item.text)
                if phrase:
                    concepts.append(_Concept({phrase: 1.0}))
            elif item.kind == "prefix":
                concept = _Concept({}, prefixes=(item.text,))
                if self._is_known(snap, stem(item.text)):
                    concept.add((stem(item.text),), 1.0)
                for w in self._expand_prefix(snap, item.text):
                    concept.add((stem(w),), PREFIX_WEIGHT)
                if concept.alternatives:
                    concepts.append(concept)
            else:
                word = item.text
                s = stem(word)
                concept = _Concept({})
                if self._is_known(snap, s):
                    concept.add((s,), 1.0)
                    fixed = self._rare_word_fix(snap, word, s)
                    if fixed is not None:  # search both; suggest the commoner one
                        corrected[word] = fixed
                        concept.add((stem(fixed),), CORRECTION_WEIGHT)
                else:
                    if i == last and short:
                        completions = self._expand_prefix(snap, word)
                        for w in completions:
                            concept.add((stem(w),), PREFIX_WEIGHT)
                        if completions:
                            concept.prefixes = (word,)
                    # In a longer query an unknown short word is more often a word the index lacks
                    # ("much") than a typo, and the other words carry the search.
                    if not concept.alternatives and (len(content) == 1 or len(word) >= MIN_CORRECTED_IN_CONTEXT):
                        fixed = self._correct(snap, word)
                        if fixed is not None:
                            corrected[word] = fixed
                            concept.add((stem(fixed),), CORRECTION_WEIGHT)
                            for alt in synonyms.expand((stem(fixed),)):
                                concept.add(alt.stems, SYNONYM_WEIGHT * CORRECTION_WEIGHT * len(alt.stems) / len(alt.key))
                if concept.alternatives:
                    concepts.append(concept)
        return concepts, corrected

    def _leaf_postings(self, leaf: _Leaf, fieldname: str, text: str) -> tuple[array[int], array[float]]:
        """(segment-local docnums, weights) of a term, deleted documents included, cached.

        Read block by block from Whoosh's posting reader rather than posting by posting through
        the matcher API: an order of magnitude faster for terms found in thousands of teams.
        """
        key = (leaf.segment_id, fieldname, text)
        cached = self._postings.get(key)
        if cached is not None:
            return cached
        try:
            matcher = leaf.reader.postings(fieldname, text)
        except TermNotFound:
            matcher = None
        if isinstance(matcher, FilterMatcher):
            matcher = matcher.child
        ids: list[int] = []
        weights: list[float] = []
        if matcher is None:
            pass
        elif isinstance(matcher, W3LeafMatcher):
            while matcher.is_active():
                matcher._read_ids()
                matcher._read_weights()
                ids.extend(matcher._ids)
                weights.extend(matcher._weights)
                matcher._next_block()
        else:
            while matcher.is_active():
                ids.append(matcher.id())
                weights.append(matcher.weight())
                matcher.next()
        result = (array("I", ids), array("f", weights))
        if self._postings_held + len(ids) > POSTINGS_BUDGET:
            self._postings.clear()
            self._postings_held = 0
        self._postings[key] = result
        self._postings_held += len(ids)
        return result

    def _term_scores(self, snap: _Snapshot, text: str) -> dict[int, float]:
        """BM25F score of one stemmed term in every live team that has it (docnum -> score)."""
        cached = snap.term_scores.get(text)
        if cached is not None:
            return cached
        factor = snap.searcher.idf("body", text) * (K1 + 1.0)
        scores: dict[int, float] = {}
        for leaf in snap.leaves:
            ids, weights = self._leaf_postings(leaf, "body", text)
            # factor * w / (w + K1) per posting, in C-level loops (map) rather than Python ones
            values = map(truediv, map(mul, weights, repeat(factor)), map(add, weights, repeat(K1)))
            scores.update(zip(map(add, ids, repeat(leaf.offset)), values, strict=True))
            for d in leaf.deleted:
                scores.pop(d + leaf.offset, None)
        self._hold_scores(snap, len(scores))
        snap.term_scores[text] = scores
        return scores

    @staticmethod
    def _hold_scores(snap: _Snapshot, size: int) -> None:
        """Make room for `size` more cached scores, dropping the score caches when over budget."""
        if snap.scores_held + size > SCORES_BUDGET:
            snap.term_scores.clear()
            snap.concept_scores.clear()
            snap.scores_held = 0
        snap.scores_held += size

    def _leaf_positions(self, leaf: _Leaf, text: str) -> dict[int, bytes]:
        """Segment-local docnum -> encoded positions of a term in `body`, read block by block
        (cached: phrases are rare, but one of two common words would otherwise cost a lot)."""
        key = (leaf.segment_id, "body:positions", text)
        cached = self._positions.get(key)
        if cached is not None:
            return cached
        try:
            matcher = leaf.reader.postings("body", text)
        except TermNotFound:
            matcher = None
        if isinstance(matcher, FilterMatcher):
            matcher = matcher.child
        found: dict[int, bytes] = {}
        if isinstance(matcher, W3LeafMatcher):
            while matcher.is_active():
                matcher._read_ids()
                matcher._read_values()
                found.update(zip(matcher._ids, matcher._values, strict=True))
                matcher._next_block()
        elif matcher is not None:
            while matcher.is_active():
                found[matcher.id()] = matcher.value()
                matcher.next()
        if len(self._positions) >= 32:
            self._positions.clear()
        self._positions[key] = found
        return found

    def _phrase_docs(self, snap: _Snapshot, stems: tuple[str, ...], candidates: set[int]) -> set[int]:
        """Which candidate teams have the stems at consecutive positions."""
        found: set[int] = set()
        for leaf in snap.leaves:
            local = [d - leaf.offset for d in candidates if leaf.offset <= d < leaf.offset + leaf.size]
            if not local:
                continue
            per_word = [self._leaf_positions(leaf, s) for s in stems]
            for d in local:
                starts = set(decode_positions(per_word[0][d]))
                for i, positions in enumerate(per_word[1:], start=1):
                    starts.intersection_update(p - i for p in decode_positions(positions[d]))
                    if not starts:
                        break
                if starts:
                    found.add(d + leaf.offset)
        return found

    def _alternative_scores(self, snap: _Snapshot, stems: tuple[str, ...]) -> dict[int, float]:
        if len(stems) == 1:
            return self._term_scores(snap, stems[0])
        per_word = [self._term_scores(snap, s) for s in stems]
        if not all(per_word):
            return {}
        candidates = set(min(per_word, key=len)).intersection(*per_word)
        return {d: sum(p[d] for p in per_word) for d in self._phrase_docs(snap, stems, candidates)}

    def _concept_scores(self, snap: _Snapshot, concept: _Concept) -> dict[int, float]:
        """Doc -> score for one concept: its best alternative, plus a share of the others."""
        cache_key = tuple(sorted(concept.alternatives.items()))
        cached = snap.concept_scores.get(cache_key)
        if cached is not None:
            return cached
        alternatives = [(self._alternative_scores(snap, stems), weight)
                        for stems, weight in concept.alternatives.items()]
        alternatives = sorted(((sc, w) for sc, w in alternatives if sc), key=lambda a: -len(a[0]))
        if not alternatives:
            result: dict[int, float] = {}
        else:
            # The largest alternative (often a common word) is copied in C; the others, usually
            # small, are merged in Python.
            first, weight = alternatives[0]
            best = dict(zip(first.keys(), map(mul, first.values(), repeat(weight)), strict=True))
            if len(alternatives) == 1:
                result = best
            else:
                total = dict(best)
                for scores, weight in alternatives[1:]:
                    for d, s in scores.items():
                        s *= weight
                        b = best.get(d)
                        if b is None:
                            best[d] = total[d] = s
                        else:
                            total[d] += s
                            if s > b:
                                best[d] = s
                keys = list(best)
                tie = map(mul, map(sub, map(total.__getitem__, keys), best.values()), repeat(DISMAX_TIEBREAK))
                result = dict(zip(keys, map(add, best.values(), tie), strict=True))
        self._hold_scores(snap, len(result))
        snap.concept_scores[cache_key] = result
        return result

    def _exact_docs(self, snap: _Snapshot, q: str) -> set[int]:
        """Teams whose contact address or slug is exactly the query, or whose address is one of its
        tokens ("mail payroll@example.com"). A plain word that happens to be a slug ("tax" in
        "tax codes") is not exact: it ranks by relevance like any word."""
        keys = contact_keys(q)
        for token in q.split():
            token = token.strip(",;<>()\"'")
            if "@" in token or token.startswith("#") or "://" in token:
                keys |= contact_keys(token)
        docs: set[int] = set()
        reader = snap.searcher.reader()
        for key in keys:
            if "," in key or not reader.doc_frequency("exact", key):
                continue
            docs.update(snap.searcher.docs_for_query(Term("exact", key)))
        return docs

    def query(self, q: str, *, filters: dict[str, list[str]] | None = None, open_ids: set[int] | None = None,
              open_now: bool = False, page: int = 1, page_size: int = 20,
              review_cutoffs: tuple[str, str] | None = None,
              semantic: tuple[Any, Callable[[str, dict[str, str]], dict[int, float]]] | None = None
              ) -> SearchResults:
        """Ranked, filtered, faceted, highlighted results for what someone typed.

        An empty query lists every team by name. Facet counts cover the whole result set; the
        counts of a facet ignore that facet's own filter (so its other values stay selectable)
        but apply the others'. `open_now` restricts to `open_ids` (nothing, when None). Teams
        overdue for review by `review_cutoffs` score REVIEW_PENALTY times less and say so in
        their hit (`review_overdue`); they are never left out. `semantic` is (the vectors' version,
        a function of the query and its corrected words to {team id: cosine similarity}): scores
        then blend words and meaning (`search.semantic.fuse`).
        """
        page, page_size = max(1, int(page)), max(1, int(page_size))
        q = (q or "").strip()
        filters = filters or {}
        with self._lock:
            snap = self._current()
            self.synonyms.get()  # reloads a changed file; its version is part of the key
            key = (q, _frozen_filters(filters), open_now, None if open_ids is None else frozenset(open_ids),
                   self.synonyms.version, review_cutoffs, semantic and semantic[0])
            cached = snap.results.get(key)
            if cached is None:
                cached = self._evaluate(snap, q, filters, open_ids, open_now, semantic and semantic[1])
                if review_cutoffs is not None and cached[0]:
                    cached = (self._demote_overdue(snap, cached[0], review_cutoffs), *cached[1:])
                if len(snap.results) >= RESULTS_CACHE:
                    del snap.results[next(iter(snap.results))]
                snap.results[key] = cached
            scores, allowed, facets, suggestion, terms = cached
            page_key = (key, page, page_size)
            hits = snap.pages.get(page_key)
            if hits is None:  # highlighting is the costly part of a repeated query: keep the page
                start = (page - 1) * page_size
                ranked = self._top(snap, allowed, scores, start + page_size)[start:]
                hits = [self._hit(snap, d, scores.get(d, 0.0), terms) for d in ranked]
                for d, hit in zip(ranked, hits, strict=True):
                    hit["review_overdue"] = snap.overdue(d, review_cutoffs)
                if len(snap.pages) >= RESULTS_CACHE * 4:
                    del snap.pages[next(iter(snap.pages))]
                snap.pages[page_key] = hits
        return SearchResults(len(allowed), [dict(hit, highlights=dict(hit["highlights"])) for hit in hits],
                             {k: dict(v) for k, v in facets.items()}, suggestion, page, page_size)

    def _evaluate(self, snap: _Snapshot, q: str, filters: dict[str, list[str]], open_ids: set[int] | None,
                  open_now: bool, similarity: Callable[[str, dict[str, str]], dict[int, float]] | None = None
                  ) -> tuple[dict[int, float], set[int], dict[str, dict[str, int]], str | None, HighlightTerms]:
        """Everything about a query but its page: scores, the filtered set, facets, suggestion."""
        suggestion = None
        terms = HighlightTerms(frozenset())
        exact = self._exact_docs(snap, q) if q else set()
        if not q or q == "*":
            matched: set[int] = snap.live
            scores: dict[int, float] = {}
        elif exact and _is_contact(q):  # an address names its team: nothing else is relevant
            scores = dict.fromkeys(exact, EXACT_BONUS)
            matched = set(exact)
        else:
            concepts, corrected = self._concepts(snap, q)
            scores = self._score(snap, concepts)
            meaning = similarity(q, corrected) if similarity else None
            if meaning:
                docnum_of = snap.docnum_of
                scores = fuse(scores, {docnum_of[t]: s for t, s in meaning.items() if t in docnum_of})
            for docnum in exact:
                scores[docnum] = scores.get(docnum, 0.0) + EXACT_BONUS
            matched = set(scores)
            if corrected:
                suggestion = _replace_words(q, corrected)
            terms = HighlightTerms(
                frozenset(s for c in concepts for alt in c.alternatives for s in alt),
                tuple(p for c in concepts for p in c.prefixes),
            )
        allowed, facets = self._filter_and_count(snap, matched, filters, open_ids, open_now)
        return scores, allowed, facets, suggestion, terms

    @staticmethod
    def _demote_overdue(snap: _Snapshot, scores: dict[int, float], cutoffs: tuple[str, str]) -> dict[int, float]:
        """The scores with pages overdue for review multiplied by REVIEW_PENALTY: a little lower,
        so an equally good current page comes first, and a far better stale one still wins."""
        return {d: s * REVIEW_PENALTY if snap.overdue(d, cutoffs) else s for d, s in scores.items()}

    @staticmethod
    def _top(snap: _Snapshot, docs: set[int], scores: dict[int, float], k: int) -> list[int]:
        """The best `k` of `docs` by score, then name. Avoids sorting thousands of teams to
        show twenty: a heap on the score alone, then the ties at the cut sorted properly."""
        if k <= 0 or not docs:
            return []
        if not scores:
            return heapq.nsmallest(k, docs, key=snap.rank.__getitem__)
        top = heapq.nlargest(k, docs, key=scores.__getitem__)
        if len(top) == k:
            cutoff = scores[top[-1]]
            top = [d for d in top if scores[d] > cutoff] + [d for d in docs if scores[d] == cutoff]
        sort, ids = snap.sort, snap.ids
        top.sort(key=lambda d: (-scores[d], sort[d], ids[d]))
        return top[:k]

    def _score(self, snap: _Snapshot, concepts: list[_Concept]) -> dict[int, float]:
        """Sum of concept scores, scaled by the share of concepts a team matches (OR with a bonus
        for matching everything: a team matching two of two words beats one matching one word
        twice as strongly)."""
        per_concept = [scores for scores in (self._concept_scores(snap, c) for c in concepts) if scores]
        if not per_concept:
            return {}
        if len(per_concept) == 1 and len(concepts) == 1:
            return dict(per_concept[0])
        keys = list(set().union(*per_concept))
        sums = [0.0] * len(keys)
        counts = [0] * len(keys)
        for scores in per_concept:  # C-level loops: a common word can match thousands of teams
            sums = list(map(add, sums, map(scores.get, keys, repeat(0.0))))
            counts = list(map(add, counts, map(scores.__contains__, keys)))
        share = 1.0 / len(concepts)
        return dict(zip(keys, map(mul, sums, map(mul, counts, repeat(share))), strict=True))

    def _filter_and_count(self, snap: _Snapshot, matched: set[int], filters: dict[str, list[str]],
                          open_ids: set[int] | None, open_now: bool) -> tuple[set[int], dict[str, dict[str, int]]]:
        """Apply the filters and count facets with set operations on per-value docnum sets, so
        a result set of thousands costs about as little as one of ten."""
        passing: dict[str, set[int]] = {}
        for key, facet, index in (("department", "department", snap.by_department),
                                  ("tag", "tags", snap.by_tag), ("location", "location", snap.by_location)):
            wanted = [v for v in (filters.get(key) or ()) if isinstance(v, str)]
            if key == "tag" and not wanted:
                wanted = [v for v in (filters.get("tags") or ()) if isinstance(v, str)]
            if wanted:
                passing[facet] = set().union(*(index.get(v, ()) for v in wanted))
        open_set = open_ids if open_ids is not None else set()
        if open_now:
            passing["open_now"] = {snap.docnum_of[i] for i in open_set if i in snap.docnum_of}

        def without(facet: str | None) -> set[int]:
            docs = matched
            for name, docset in passing.items():
                if name != facet:
                    docs = docs & docset
            return docs

        allowed = without(None)
        facets: dict[str, dict[str, int]] = {}
        for facet, values in (("department", snap.department), ("tags", snap.tags), ("location", snap.location)):
            docs = without(facet) if facet in passing else allowed
            if len(docs) * 2 > len(snap.live):  # most teams match: count the others and subtract
                counter = snap.facet_totals[facet] - _count_values(values, snap.live - docs, facet == "tags")
            else:
                counter = _count_values(values, docs, facet == "tags")
            counter.pop("", None)
            facets[facet] = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0].lower())))
        if open_ids is not None:
            docs = without("open_now") if "open_now" in passing else allowed
            open_docs = {snap.docnum_of[i] for i in open_set if i in snap.docnum_of}
            n_open = len(docs & open_docs)
            facets["open_now"] = {"true": n_open, "false": len(docs) - n_open}
        return allowed, facets

    @staticmethod
    def _stored(snap: _Snapshot, docnum: int) -> dict[str, Any]:
        doc = snap.stored.get(docnum)
        if doc is None:
            if len(snap.stored) >= 4096:
                snap.stored.clear()
            doc = snap.stored[docnum] = snap.searcher.stored_fields(docnum)["doc"]
        return doc

    def _hit(self, snap: _Snapshot, docnum: int, score: float, terms: HighlightTerms) -> dict[str, Any]:
        doc = self._stored(snap, docnum)
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
        return {
            "id": doc["id"], "slug": doc["slug"], "name": doc["name"], "summary": doc["summary"],
            "department": doc["department"], "score": round(score, 4), "highlights": highlights,
            "last_reviewed": doc.get("reviewed") or None,
        }

    # -- search as you type ---------------------------------------------------------------------

    def suggest(self, prefix: str, limit: int = 8) -> list[dict[str, Any]]:
        """Teams whose name, service, tag or department words start with what was typed so far.

        Every typed word must start some word of the team; teams matching in their name come
        first, then shorter names. Names hold edge n-grams (one term lookup per word); service
        and tag words are completed from the vocabulary (capped), so a keystroke costs little.
        """
        tokens = [w[:AUTOCOMPLETE_MAX] for w in words(prefix or "")]
        if not tokens or limit <= 0:
            return []
        with self._lock:
            snap = self._current()
            reader = snap.searcher.reader()
            in_name: dict[int, int] = {}
            matched: set[int] | None = None
            for token in tokens:
                name_docs = self._docs_with(snap, "ac_name", token)
                other_docs: set[int] = set()
                for i, term in enumerate(reader.expand_prefix("ac_more", token)):
                    if i >= MAX_PREFIX_EXPANSIONS:
                        break
                    other_docs |= self._docs_with(snap, "ac_more", term.decode("utf-8"))
                for d in name_docs:
                    in_name[d] = in_name.get(d, 0) + 1
                token_docs = name_docs | other_docs
                matched = token_docs if matched is None else matched & token_docs
                if not matched:
                    return []
            assert matched is not None
            first = tokens[0]
            ranked = sorted(matched, key=lambda d: (-in_name.get(d, 0), not snap.sort[d].startswith(first),
                                                    len(snap.sort[d]), snap.sort[d]))[:limit]
            out = []
            for d in ranked:
                doc = self._stored(snap, d)
                out.append({"slug": doc["slug"], "name": doc["name"], "department": doc["department"]})
            return out

    def _docs_with(self, snap: _Snapshot, fieldname: str, text: str) -> set[int]:
        """Live docnums holding a term in a field."""
        docs: set[int] = set()
        for leaf in snap.leaves:
            ids, _weights = self._leaf_postings(leaf, fieldname, text)
            offset, deleted = leaf.offset, leaf.deleted
            docs.update(d + offset for d in ids if d not in deleted)
        return docs
