"""Every use of Whoosh's private or segment-level APIs, in one place.

Whoosh's public API reads postings one at a time and cannot swap a finished index in with one
write; these helpers reach past it for speed and atomicity. An upgrade of whoosh-reloaded that
changes its internals breaks this module and nothing else.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from search.documents import INDEX_NAME, codec


@dataclass
class Leaf:
    """One segment's reader, where its docnums start in the whole index, and its deletions."""

    reader: Any
    segment_id: str
    offset: int
    size: int
    deleted: frozenset[int]


def leaves(searcher: Searcher) -> list[Leaf]:
    """The searcher's segments, each named by a segment id that stays the same across generations."""
    found: list[Leaf] = []
    for leaf_searcher, offset in searcher.leaf_searchers():
        reader = leaf_searcher.reader()
        segment = reader.segment()
        seg_id = segment.segment_id() if segment is not None else f"anon-{id(reader)}"
        deleted = frozenset(getattr(reader, "deleted_docs_set", None) or ())  # an empty index has none
        found.append(Leaf(reader, seg_id, offset, reader.doc_count_all(), deleted))
    return found


def _leaf_matcher(reader: Any, fieldname: str, text: str) -> Any:
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        matcher = None
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    return matcher


def read_postings(reader: Any, fieldname: str, text: str) -> tuple[list[int], list[float]]:
    """(segment-local docnums, weights) of a term, deleted documents included.

    Read block by block from Whoosh's posting reader rather than posting by posting through
    the matcher API: an order of magnitude faster for terms found in thousands of teams.
    """
    matcher = _leaf_matcher(reader, fieldname, text)
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
    return ids, weights


def read_positions(reader: Any, fieldname: str, text: str) -> dict[int, bytes]:
    """Segment-local docnum -> encoded positions of a term, read block by block."""
    matcher = _leaf_matcher(reader, fieldname, text)
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
    return found


def writer_under_held_lock(ix: Index) -> IndexWriter:
    """A writer for a caller that already holds the index's write lock file (Whoosh would
    otherwise try to take that very lock again)."""
    return ix.writer(_lk=False, codec=codec(), compound=False)


def read_build(build_dir: Path) -> Any:
    """The table of contents of an index built in `build_dir`."""
    return whoosh_index.TOC.read(FileStorage(str(build_dir)), INDEX_NAME)


def install_build(toc: Any, build_dir: Path, path: Path) -> None:
    """Move the segments built in `build_dir` into `path` and make them the index with one atomic
    table-of-contents write; the old generation's files are removed. Call with the write lock held."""
    storage = FileStorage(str(path))
    segment_file = whoosh_index.TOC._segment_pattern(INDEX_NAME)
    for name in os.listdir(build_dir):
        if segment_file.match(name):
            os.replace(build_dir / name, path / name)
    # Open searchers notice a new index by its generation number alone, so a directory
    # deleted and recreated starts at a random one rather than at 0 again.
    latest = whoosh_index.TOC._latest_generation(storage, INDEX_NAME)
    generation = latest + 1 if latest >= 0 else random.randrange(1, 2**30)
    whoosh_index.TOC(toc.schema, toc.segments, generation).write(storage, INDEX_NAME)
    whoosh_index.clean_files(storage, INDEX_NAME, generation, toc.segments)
