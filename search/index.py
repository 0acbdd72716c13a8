"""The team search index: a Whoosh index on disk, shared by every worker process on a host.

Works on plain team dicts (§1 of the contract plus `"id"`); the database glue lives elsewhere.

On-disk layout of `path`:
- Whoosh files named after `INDEX_NAME`, which carries the schema version, so an index written
  by an older release is simply "absent" to this one (and `is_usable()` says False).
- `state.json`: schema version and the last change sequence applied, written atomically while
  the write lock is held, after the index commit (a crash in between leaves the sequence behind
  the index, never ahead, so a catch-up re-applies rather than skips).
- `<INDEX_NAME>_WRITELOCK`: an fcntl lock every writer takes (the same file Whoosh's own
  writer would lock), with a timeout.
"""

from __future__ import annotations

import contextlib
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
from itertools import chain
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import Term
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.system import pack_uint

from search.analysis import (
    AUTOCOMPLETE_MAX,
    INDEX_STOP_WORDS,
    QUERY_STOP_WORDS,
    HighlightTerms,
    SectionsAnalyzer,
    autocomplete_analyzer,
    contact_keys,
    fold,
    highlight,
    index_terms,
    iter_strings,
    markdown_to_text,
    plain_analyzer,
    stem,
    weighted_sections,
    words,
)
from search.spelling import Speller, max_distance
from search.synonyms import SynonymFile, entry_stems

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
INDEX_NAME = f"teams_v{SCHEMA_VERSION}"
STATE_FILE = "state.json"
_OLD_VERSION_FILE = re.compile(r"^_?teams_v(\d+)_")

# BM25F field weights, applied at indexing time (changing them needs SCHEMA_VERSION + 1):
# (weight, length normalisation b, typical length in terms). Names and service names say what a
# team does most directly; descriptions are long and wander.
FIELDS: dict[str, tuple[float, float, float]] = {
    "name": (6.0, 0.5, 2.5),
    "services": (3.5, 0.5, 8.0),
    "tags": (3.0, 0.3, 4.0),
    "summary": (2.5, 0.5, 12.0),
    "department": (1.5, 0.0, 1.5),
    "service_text": (1.2, 0.6, 25.0),
    "description": (1.0, 0.6, 100.0),
    "contacts": (1.0, 0.0, 4.0),
    "location": (0.8, 0.0, 3.0),
}
K1 = 2.0                   # term-weight saturation: higher lets field weights matter more
SYNONYM_WEIGHT = 0.8       # a synonym counts a little less than the word typed
PREFIX_WEIGHT = 0.7        # as does a word completed from a prefix
CORRECTION_WEIGHT = 0.9    # and a corrected typo
SPLIT_WORD_WEIGHT = 0.5    # a word of a multi-word synonym, found on its own
DISMAX_TIEBREAK = 0.3      # a team matching several alternatives of one concept gains a little
EXACT_BONUS = 1000.0       # an exact contact address or slug puts its team first
MAX_PREFIX_EXPANSIONS = 40
SHORT_QUERY = 3            # implicit prefix on the last word only up to this many words
POSTINGS_CACHE = 4096      # (segment, term) posting lists kept in memory


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


def build_schema() -> Schema:
    body = TEXT(analyzer=SectionsAnalyzer())
    body.format = CompactPositions()
    return Schema(
        id=ID(unique=True),
        doc=STORED(),
        body=body,
        exact=KEYWORD(commas=True, scorable=False),
        vocab=TEXT(analyzer=plain_analyzer(), phrase=False),
        ac_name=TEXT(analyzer=autocomplete_analyzer(), phrase=False),
        ac_more=TEXT(analyzer=plain_analyzer(), phrase=False),
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _field_boost(name: str, text: str) -> float:
    """BM25F's per-field term weight: the field weight, normalised by the field's length."""
    weight, b, typical = FIELDS[name]
    length = len(index_terms(text)) if b else 0
    return weight / (1.0 - b + b * max(length, 1) / typical) if b else weight


def document_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The index fields of one team. Tolerates missing or odd values: data is user input."""
    team_id = int(doc["id"])
    name, slug = _text(doc.get("name")), _text(doc.get("slug"))
    summary, department, location = _text(doc.get("summary")), _text(doc.get("department")), _text(doc.get("location"))
    description = markdown_to_text(_text(doc.get("description")))
    tags = list(dict.fromkeys(t.strip() for t in iter_strings(doc.get("tags"))))
    services = [(_text(s.get("name")), _text(s.get("description"))) for s in _dicts(doc.get("services"))]
    contacts = [_text(c.get("value")) for c in _dicts(doc.get("contacts")) if _text(c.get("value"))]
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
        "contacts": "\n".join(contacts),
        "department": department,
        "location": location,
    }
    return {
        "id": str(team_id),
        "doc": {
            "id": team_id, "slug": slug, "name": name, "summary": summary, "description": description,
            "department": department, "location": location, "tags": tags, "services": services,
            "sort": fold(name),
        },
        "body": weighted_sections((_field_boost(f, t), t) for f, t in texts.items() if t),
        "exact": ",".join(k for k in exact if "," not in k),
        "vocab": "\n".join(t for f, t in texts.items() if f != "contacts"),
        "ac_name": name,
        "ac_more": "\n".join([texts["services"], " ".join(tags), department]),
    }


# -- query parsing -----------------------------------------------------------------------------


@dataclass
class _Concept:
    """One thing the user asked for: the alternatives (stem tuples, weight) any of which will do."""

    alternatives: dict[tuple[str, ...], float]
    label: str                      # as shown in a "did you mean" suggestion
    typed: str                      # as typed (folded), to rebuild the suggestion
    corrected: bool = False
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


# -- per-generation state ----------------------------------------------------------------------


@dataclass
class _SegmentDocs:
    """Facet and sort values of one segment's documents, by segment-local docnum."""

    ids: list[int]
    sort: list[str]
    department: list[str]
    location: list[str]
    tags: list[tuple[str, ...]]


@dataclass
class _Leaf:
    reader: Any
    segment_id: str
    offset: int
    size: int
    deleted: frozenset[int]


@dataclass
class _Snapshot:
    """A searcher plus everything derived from its generation (cached until the index changes)."""

    searcher: Searcher
    generation: int
    leaves: list[_Leaf]
    ids: list[int]
    sort: list[str]
    department: list[str]
    location: list[str]
    tags: list[tuple[str, ...]]
    live: set[int]
    rank: list[int]
    docnum_of: dict[int, int]
    by_department: dict[str, set[int]]
    by_location: dict[str, set[int]]
    by_tag: dict[str, set[int]]
    known: dict[str, bool] = field(default_factory=dict)
    term_scores: dict[str, dict[int, float]] = field(default_factory=dict)


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
        self._postings: dict[tuple[str, str, str], tuple[tuple[int, ...], tuple[float, ...]]] = {}
        self._positions: dict[tuple[str, str, str], dict[int, bytes]] = {}
        self._speller = Speller()
        self._speller_segments: set[str] = set()
        self._state_cache: tuple[tuple[int, int], dict[str, Any]] | None = None

    # -- state and health ---------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any] | None:
        state_path = self.path / STATE_FILE
        try:
            st = state_path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            cached = self._state_cache
            if cached is not None and cached[0] == stamp:
                return cached[1]
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict):
            return None
        self._state_cache = (stamp, state)
        return state

    def _write_state(self, seq: int, *, replace: bool = False) -> None:
        """Record `seq` (max with the stored one unless `replace`). Call with the write lock held."""
        state = self._read_state() or {}
        current = state.get("last_seq", 0) if state.get("schema_version") == SCHEMA_VERSION else 0
        new = int(seq) if replace else max(int(seq), int(current or 0))
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"schema_version": SCHEMA_VERSION, "last_seq": new, "updated_at": time.time()}, f)
        os.replace(tmp, self.path / STATE_FILE)

    def last_seq(self) -> int:
        """The last change sequence applied (0 when unknown). Cheap: a stat and a cached read."""
        state = self._read_state()
        if not state or state.get("schema_version") != SCHEMA_VERSION:
            return 0
        try:
            return int(state.get("last_seq") or 0)
        except (TypeError, ValueError):
            return 0

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
            with ix.reader() as reader:
                for docnum in reader.all_doc_ids():
                    reader.stored_fields(docnum)
                    break
                next(iter(reader.all_terms()), None)
            return True
        except Exception:
            log.debug("search index at %s is not usable", self.path, exc_info=True)
            return False

    # -- writing ------------------------------------------------------------------------------

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
                progress: Callable[[int], None] | None = None) -> int:
        """Index `docs` from scratch and record `seq` as the last change applied; returns the count.

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
            writer = build_ix.writer(limitmb=256)
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
                generation = max(whoosh_index.TOC._latest_generation(storage, INDEX_NAME), -1) + 1
                whoosh_index.TOC(toc.schema, toc.segments, generation).write(storage, INDEX_NAME)
                whoosh_index.clean_files(storage, INDEX_NAME, generation, toc.segments)
                self._remove_other_versions()
                self._write_state(seq, replace=True)
            if progress is not None:
                progress(count)
            return count
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)

    def apply(self, upserts: Iterable[dict[str, Any]], deletes: Iterable[int], seq: int) -> None:
        """Upsert and delete teams by id in one commit; record `seq` if above the stored one.

        Idempotent, so replaying a range of changes is harmless. A team both upserted and
        deleted in one call ends up deleted.
        """
        fields = [document_fields(doc) for doc in upserts]
        delete_ids = [str(int(i)) for i in deletes]
        with self._write_lock():
            try:
                ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
            except Exception as exc:
                raise IndexUnusableError(f"search index {self.path} cannot be opened; rebuild it") from exc
            if fields or delete_ids:
                writer = ix.writer(_lk=False)  # we already hold the same lock file
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
            self._write_state(seq)

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
                latest = whoosh_index.TOC._latest_generation(snap.searcher._ix.storage, INDEX_NAME)
            except OSError as exc:
                raise IndexUnusableError(f"search index {self.path} disappeared") from exc
            if latest == snap.generation:
                return snap
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
        leaves: list[_Leaf] = []
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
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
                self._segments[seg_id] = docs
            ids += docs.ids
            sort += docs.sort
            department += docs.department
            location += docs.location
            tags += docs.tags
        live_segments = {leaf.segment_id for leaf in leaves}
        for gone in set(self._segments) - live_segments:
            del self._segments[gone]
        for cache in (self._postings, self._positions):
            for key in [k for k in cache if k[0] not in live_segments]:
                del cache[key]
        live = set(range(len(ids)))
        for leaf in leaves:
            live -= {leaf.offset + d for d in leaf.deleted}
        order = sorted(live, key=lambda d: (sort[d], ids[d]))
        rank = [len(order)] * len(ids)
        for position, d in enumerate(order):
            rank[d] = position
        by_department: dict[str, set[int]] = {}
        by_location: dict[str, set[int]] = {}
        by_tag: dict[str, set[int]] = {}
        for d in order:
            by_department.setdefault(department[d], set()).add(d)
            by_location.setdefault(location[d], set()).add(d)
            for tag in tags[d]:
                by_tag.setdefault(tag, set()).add(d)
        return _Snapshot(searcher, searcher.reader().generation(), leaves, ids, sort, department, location, tags,
                         live, rank, {ids[d]: d for d in order}, by_department, by_location, by_tag)

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

    def _correct(self, snap: _Snapshot, word: str) -> str | None:
        """The likeliest intended vocabulary word for an unknown `word`, or None."""
        if max_distance(word) == 0 or not word.isalpha():
            return None
        reader = snap.searcher.reader()
        best: tuple[Any, ...] | None = None
        for cand, dist in self._speller_for(snap).candidates(word):
            if dist == 2 and cand[0] != word[0]:
                continue
            df = reader.doc_frequency("vocab", cand)
            if df <= 0:
                continue
            key = (dist, cand[0] != word[0], -df, cand)
            if best is None or key < best:
                best = key
        return best[-1] if best else None

    def _concepts(self, snap: _Snapshot, q: str) -> tuple[list[_Concept], bool]:
        """What the query asks for, after synonyms, stop words, prefixes and corrections."""
        items = _parse(q)
        synonyms = self.synonyms.get()
        concepts: list[_Concept] = []
        corrected = False

        # Synonym runs are found among the plain words (stop words skipped), longest first.
        positions = [i for i, it in enumerate(items)
                     if it.kind == "word" and it.text not in INDEX_STOP_WORDS and len(it.text) >= 2]
        stems = [stem(items[i].text) for i in positions]
        in_span: dict[int, tuple[int, int]] = {}
        for start, end in synonyms.spans(stems) if synonyms.longest else ():
            span_items = [items[positions[k]] for k in range(start, end)]
            if all(it.text in QUERY_STOP_WORDS for it in span_items):
                continue
            for k in range(start, end):
                in_span[positions[k]] = (start, end)

        content = [i for i, it in enumerate(items)
                   if it.kind != "word" or i in in_span
                   or (it.text not in QUERY_STOP_WORDS and len(it.text) >= 2)]
        if not content:  # only stop words: search them anyway, but not the index's own stop words
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
                typed_stems = tuple(stems[span[0]:span[1]])
                typed_words = " ".join(items[positions[k]].text for k in range(*span))
                concept = _Concept({}, typed_words, typed_words)
                concept.add(typed_stems, 1.0)
                for alt in synonyms.expand(typed_stems):
                    concept.add(alt.stems, SYNONYM_WEIGHT)
                if len(typed_stems) > 1:
                    for s in typed_stems:
                        concept.add((s,), SPLIT_WORD_WEIGHT)
                concepts.append(concept)
            elif item.kind == "phrase":
                phrase = entry_stems(item.text)
                if phrase:
                    concepts.append(_Concept({phrase: 1.0}, f'"{item.text}"', f'"{item.text}"'))
            elif item.kind == "prefix":
                concept = _Concept({}, item.text + "*", item.text + "*", prefixes=(item.text,))
                if self._is_known(snap, stem(item.text)):
                    concept.add((stem(item.text),), 1.0)
                for w in self._expand_prefix(snap, item.text):
                    concept.add((stem(w),), PREFIX_WEIGHT)
                if concept.alternatives:
                    concepts.append(concept)
            else:
                word = item.text
                s = stem(word)
                concept = _Concept({}, word, word)
                if self._is_known(snap, s):
                    concept.add((s,), 1.0)
                    for alt in synonyms.expand((s,)):
                        concept.add(alt.stems, SYNONYM_WEIGHT)
                else:
                    for alt in synonyms.expand((s,)):  # a synonym of an absent word still helps
                        concept.add(alt.stems, SYNONYM_WEIGHT)
                    if i == last and short:
                        completions = self._expand_prefix(snap, word)
                        for w in completions:
                            concept.add((stem(w),), PREFIX_WEIGHT)
                        if completions:
                            concept.prefixes = (word,)
                    if not concept.alternatives:
                        fixed = self._correct(snap, word)
                        if fixed is not None:
                            corrected = True
                            concept.label, concept.corrected = fixed, True
                            concept.add((stem(fixed),), CORRECTION_WEIGHT)
                            for alt in synonyms.expand((stem(fixed),)):
                                concept.add(alt.stems, SYNONYM_WEIGHT * CORRECTION_WEIGHT)
                if concept.alternatives:
                    concepts.append(concept)
        return concepts, corrected

    def _leaf_postings(self, leaf: _Leaf, fieldname: str, text: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
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
        if len(self._postings) >= POSTINGS_CACHE:
            self._postings.clear()
        result = (tuple(ids), tuple(weights))
        self._postings[key] = result
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
            offset, deleted = leaf.offset, leaf.deleted
            pairs = zip(ids, weights, strict=True)
            if deleted:
                scores.update((d + offset, factor * w / (w + K1)) for d, w in pairs if d not in deleted)
            else:
                scores.update((d + offset, factor * w / (w + K1)) for d, w in pairs)
        if len(snap.term_scores) > 512:
            snap.term_scores.clear()
        snap.term_scores[text] = scores
        return scores

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
        if len(self._positions) >= POSTINGS_CACHE // 16:
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
        alternatives = [(self._alternative_scores(snap, stems), weight)
                        for stems, weight in concept.alternatives.items()]
        alternatives = [(scores, weight) for scores, weight in alternatives if scores]
        if len(alternatives) == 1:
            scores, weight = alternatives[0]
            return {d: s * weight for d, s in scores.items()} if weight != 1.0 else scores
        best: dict[int, float] = {}
        total: dict[int, float] = {}
        for scores, weight in alternatives:
            for d, s in scores.items():
                s *= weight
                total[d] = total.get(d, 0.0) + s
                if s > best.get(d, 0.0):
                    best[d] = s
        return {d: b + DISMAX_TIEBREAK * (total[d] - b) for d, b in best.items()}

    def _exact_docs(self, snap: _Snapshot, q: str) -> set[int]:
        """Teams whose contact address or slug is exactly the query (or one of its tokens)."""
        keys = contact_keys(q)
        for token in q.split():
            keys |= contact_keys(token.strip(",;<>()\"'"))
        docs: set[int] = set()
        reader = snap.searcher.reader()
        for key in keys:
            if "," in key or not reader.doc_frequency("exact", key):
                continue
            docs.update(snap.searcher.docs_for_query(Term("exact", key)))
        return docs

    def query(self, q: str, *, filters: dict[str, list[str]] | None = None, open_ids: set[int] | None = None,
              open_now: bool = False, page: int = 1, page_size: int = 20) -> SearchResults:
        """Ranked, filtered, faceted, highlighted results for what someone typed.

        An empty query lists every team by name. Facet counts cover the whole result set; the
        counts of a facet ignore that facet's own filter (so its other values stay selectable)
        but apply the others'. `open_now` restricts to `open_ids` (nothing, when None).
        """
        page, page_size = max(1, int(page)), max(1, int(page_size))
        q = (q or "").strip()
        with self._lock:
            snap = self._current()
            suggestion = None
            terms = HighlightTerms(frozenset())
            if not q or q == "*":
                matched: set[int] = snap.live
                scores: dict[int, float] = {}
            else:
                concepts, corrected = self._concepts(snap, q)
                scores = self._score(snap, concepts)
                for docnum in self._exact_docs(snap, q):
                    scores[docnum] = scores.get(docnum, 0.0) + EXACT_BONUS
                matched = set(scores)
                if corrected:
                    suggestion = " ".join(c.label for c in concepts) or None
                terms = HighlightTerms(
                    frozenset(s for c in concepts for alt in c.alternatives for s in alt),
                    tuple(p for c in concepts for p in c.prefixes),
                )
            allowed, facets = self._filter_and_count(snap, matched, filters or {}, open_ids, open_now)
            start = (page - 1) * page_size
            ranked = self._top(snap, allowed, scores, start + page_size)[start:]
            hits = [self._hit(snap, d, scores.get(d, 0.0), terms) for d in ranked]
        return SearchResults(len(allowed), hits, facets, suggestion, page, page_size)

    @staticmethod
    def _top(snap: _Snapshot, docs: set[int], scores: dict[int, float], k: int) -> list[int]:
        """The best `k` of `docs` by score, then name. Avoids sorting thousands of teams to
        show twenty: a heap on the score alone, then the ties at the cut sorted properly."""
        rank = snap.rank
        if k <= 0 or not docs:
            return []
        if not scores:
            return heapq.nsmallest(k, docs, key=rank.__getitem__)
        top = heapq.nlargest(k, docs, key=scores.__getitem__)
        if len(top) == k:
            cutoff = scores[top[-1]]
            top = [d for d in top if scores[d] > cutoff] + [d for d in docs if scores[d] == cutoff]
        top.sort(key=lambda d: (-scores[d], rank[d]))
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
        n = len(concepts)
        sums: dict[int, float] = {}
        counts: dict[int, int] = {}
        for scores in per_concept:
            for docnum, score in scores.items():
                if docnum in sums:
                    sums[docnum] += score
                    counts[docnum] += 1
                else:
                    sums[docnum] = score
                    counts[docnum] = 1
        return {d: s * counts[d] / n for d, s in sums.items()}

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
        for facet, values in (("department", snap.department), ("tags", None), ("location", snap.location)):
            docs = without(facet) if facet in passing else allowed
            if values is None:
                counter = Counter(chain.from_iterable(map(snap.tags.__getitem__, docs)))
            else:
                counter = Counter(map(values.__getitem__, docs))
                counter.pop("", None)
            facets[facet] = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0].lower())))
        if open_ids is not None:
            docs = without("open_now") if "open_now" in passing else allowed
            open_docs = {snap.docnum_of[i] for i in open_set if i in snap.docnum_of}
            n_open = len(docs & open_docs)
            facets["open_now"] = {"true": n_open, "false": len(docs) - n_open}
        return allowed, facets

    def _hit(self, snap: _Snapshot, docnum: int, score: float, terms: HighlightTerms) -> dict[str, Any]:
        doc = snap.searcher.stored_fields(docnum)["doc"]
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
                doc = snap.searcher.stored_fields(d)["doc"]
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
