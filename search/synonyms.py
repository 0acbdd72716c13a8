"""Synonym groups, applied when a query is parsed (never at indexing, so editing the file
needs no reindex).

File format: one group per line, entries separated by commas, `#` starts a comment line (or a
trailing comment after whitespace). Entries may be several words: `door badge, access card`.
A query's words are matched against the entries after the same folding and stemming as the
index, longest entry first; each match expands into every entry of its group(s).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from search.analysis import INDEX_STOP_WORDS, stem, words

log = logging.getLogger(__name__)

_INLINE_COMMENT = re.compile(r"\s+#(?:\s.*)?$")


def entry_stems(text: str) -> tuple[str, ...]:
    """Text as the stems a phrase of it matches in the index (whose analyzer drops stop words)."""
    return tuple(stem(w) for w in words(text) if w not in INDEX_STOP_WORDS and len(w) >= 2)


def entry_key(text: str) -> tuple[str, ...]:
    """Text as the stems of all its words: how entries and runs of query words are compared, so
    "log in" matches only those two words, never "log" alone."""
    return tuple(stem(w) for w in words(text))


@dataclass(frozen=True)
class Synonym:
    """One entry of a group: `key` to recognise it in a query, `stems` to search for it."""

    key: tuple[str, ...]
    stems: tuple[str, ...]


def _line_entries(line: str) -> list[Synonym]:
    """A line's distinct entries, in order; parts with no searchable word are skipped."""
    entries: list[Synonym] = []
    for part in line.split(","):
        key, stems = entry_key(part), entry_stems(part)
        if stems and all(e.key != key for e in entries):
            entries.append(Synonym(key, stems))
    return entries


def _read_groups(text: str) -> list[list[Synonym]]:
    """The file's groups as written: a line needs two entries to say anything."""
    groups: list[list[Synonym]] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        entries = _line_entries(_INLINE_COMMENT.sub("", line))
        if len(entries) >= 2:
            groups.append(entries)
    return groups


def _join_groups(groups: list[list[Synonym]]) -> list[list[Synonym]]:
    """Groups merged when they share an entry (union-find), each entry once, in file order."""
    owner: dict[tuple[str, ...], int] = {}
    parent = list(range(len(groups)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, entries in enumerate(groups):
        for entry in entries:
            if entry.key in owner:
                parent[find(i)] = find(owner[entry.key])
            else:
                owner[entry.key] = i
    joined: dict[int, list[Synonym]] = {}
    for i, entries in enumerate(groups):
        members = joined.setdefault(find(i), [])
        members.extend(e for e in entries if all(m.key != e.key for m in members))
    return list(joined.values())


@dataclass
class SynonymMap:
    """Entries keyed by their stems; each key knows every entry it is interchangeable with."""

    groups: dict[tuple[str, ...], list[Synonym]] = field(default_factory=dict)
    longest: int = 0

    @classmethod
    def parse(cls, text: str) -> SynonymMap:
        """Groups sharing an entry are joined (as the file's header promises)."""
        smap = cls()
        for members in _join_groups(_read_groups(text)):
            for entry in members:
                smap.groups[entry.key] = members
                smap.longest = max(smap.longest, len(entry.key))
        return smap

    def expand(self, key: tuple[str, ...]) -> list[Synonym]:
        """All entries interchangeable with this entry key (itself included), or []."""
        return self.groups.get(key, [])

    def spans(self, keys: list[str]) -> list[tuple[int, int]]:
        """Non-overlapping (start, end) runs of word stems that are entries, longest first."""
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(keys):
            for size in range(min(self.longest, len(keys) - i), 0, -1):
                if tuple(keys[i:i + size]) in self.groups:
                    found.append((i, i + size))
                    i += size
                    break
            else:
                i += 1
        return found


class SynonymFile:
    """A synonyms file, re-read when its modification time or size changes.

    A missing or unreadable file means no synonyms (logged once); search keeps working.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self._stamp: tuple[int, int] | None = None
        self._map = SynonymMap()
        self._lock = threading.Lock()
        self._warned = False
        self.version = 0  # bumped on every (re)load, so caches of expanded queries can tell

    def get(self) -> SynonymMap:
        if self.path is None:
            return self._map
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            if not self._warned:
                log.warning("synonyms file %s not found; searching without synonyms", self.path)
                self._warned = True
            if self._stamp is not None or self.version == 0:
                self.version += 1
            self._stamp, self._map = None, SynonymMap()
            return self._map
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._map = SynonymMap.parse(self.path.read_text(encoding="utf-8"))
                    except (OSError, UnicodeDecodeError):
                        log.exception("cannot read synonyms file %s", self.path)
                        self._map = SynonymMap()
                    self._stamp = stamp
                    self.version += 1
        return self._map
