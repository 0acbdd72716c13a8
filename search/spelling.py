"""Typo correction from the index's own vocabulary.

Fuzzy queries (edit distance 2 over every term of every field) take seconds on a large index;
instead, unknown query words are corrected against the vocabulary once and the corrected words
are searched normally. Candidates come from a symmetric-delete table (each vocabulary word and
its one-letter deletions; the query word and its deletions up to two letters), then are checked
with a real Damerau (optimal string alignment) distance, so a lookup costs a few dozen dict
probes whatever the vocabulary size.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_WORD = 24


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (transpositions count once); limit+1 when above limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] | None = None
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        ca = a[i - 1]
        for j in range(1, len(b) + 1):
            cb = b[j - 1]
            cost = 0 if ca == cb else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1] if prev[-1] <= limit else limit + 1


def max_distance(word: str) -> int:
    """Edits allowed for a word: short words would otherwise 'correct' into unrelated ones, and
    the candidates of a very long one would cost quadratic time (it is no typo anyway)."""
    if len(word) <= 2 or len(word) > MAX_WORD:
        return 0
    if len(word) <= 7:
        return 1
    return 2


class Speller:
    """Vocabulary lookup for near misses. Add-only: words that left the index are filtered out
    by the caller (it checks document frequency), which keeps updates incremental."""

    MIN_LENGTH = 3

    def __init__(self) -> None:
        self._words: set[str] = set()
        self._table: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._words)

    def add(self, words: Iterable[str]) -> None:
        table = self._table
        for word in words:
            if word in self._words or not self.MIN_LENGTH <= len(word) <= MAX_WORD or not word.isalpha():
                continue
            self._words.add(word)
            for key in _deletes(word) | {word}:
                bucket = table.get(key)
                if bucket is None:
                    table[key] = [word]
                else:
                    bucket.append(word)

    def __contains__(self, word: str) -> bool:
        return word in self._words

    def candidates(self, word: str, max_dist: int | None = None) -> list[tuple[str, int]]:
        """Vocabulary words within the allowed distance of `word`, nearest first."""
        limit = max_distance(word) if max_dist is None else max_dist
        if limit <= 0:
            return []
        probes = {word} | _deletes(word)
        if limit >= 2:
            for d in list(probes):
                probes |= _deletes(d)
        seen: set[str] = set()
        found: list[tuple[str, int]] = []
        for probe in probes:
            for cand in self._table.get(probe, ()):
                if cand in seen or cand == word:
                    continue
                seen.add(cand)
                dist = edit_distance(word, cand, limit)
                if dist <= limit:
                    found.append((cand, dist))
        found.sort(key=lambda item: item[1])
        return found
