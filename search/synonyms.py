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
    """An entry (or a run of query words) as the stems a phrase of it would match in the index."""
    return tuple(stem(w) for w in words(text) if w not in INDEX_STOP_WORDS and len(w) >= 2)


@dataclass(frozen=True)
class Synonym:
    """One entry of a group: its stems (a phrase when more than one) and its folded words."""

    stems: tuple[str, ...]
    words: tuple[str, ...]


@dataclass
class SynonymMap:
    """Entries keyed by their stems; each key knows every entry it is interchangeable with."""

    groups: dict[tuple[str, ...], list[Synonym]] = field(default_factory=dict)
    longest: int = 0

    @classmethod
    def parse(cls, text: str) -> SynonymMap:
        smap = cls()
        for raw_line in text.splitlines():
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            line = _INLINE_COMMENT.sub("", line)
            entries = []
            for part in line.split(","):
                stems = entry_stems(part)
                if stems:
                    folded = tuple(w for w in words(part) if w not in INDEX_STOP_WORDS and len(w) >= 2)
                    entries.append(Synonym(stems, folded))
            if len(entries) < 2:
                continue
            for entry in entries:
                known = smap.groups.setdefault(entry.stems, [])
                for other in entries:
                    if other not in known:
                        known.append(other)
                smap.longest = max(smap.longest, len(entry.stems))
        return smap

    def expand(self, stems: tuple[str, ...]) -> list[Synonym]:
        """All entries interchangeable with this run of stems (itself included), or []."""
        return self.groups.get(stems, [])

    def spans(self, stems: list[str]) -> list[tuple[int, int]]:
        """Non-overlapping (start, end) runs of `stems` that are synonym entries, longest first."""
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(stems):
            for size in range(min(self.longest, len(stems) - i), 0, -1):
                if tuple(stems[i:i + size]) in self.groups:
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
        return self._map
