"""Text analysis shared by indexing, querying, spelling and highlighting.

Indexing and querying must agree exactly on how text becomes terms, so every analyzer and
normaliser lives here and nothing else in the package tokenizes on its own.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    LowercaseFilter,
    NgramFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Token,
)
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem as porter_stem
from whoosh.support.charset import accent_map

# "it" (the department), "us" and "may" carry meaning in an intranet directory.
INDEX_STOP_WORDS = frozenset(STOP_WORDS - {"it", "us", "may"})

# Words people wrap around their problem when they type a question. Dropped from queries only
# (never from the index), and only when something else is left.
_QUESTION_WORDS = """
    who whom whose what which where when why how whats wheres whos hows
    do does did doing done am was were been being has had having
    i me my mine myself our ours ourselves he she they them their his her its
    can could should would will shall might must
    ask asking asked need needs needed want wants wanted get gets got getting
    someone somebody anyone anybody something anything
    please hi hello hey thanks about there here just also very really some any all
    help helps helping team teams go going find talk speak
    much many more most lot lots still already ever even like know tell say see way ways sure
    thing things stuff whether able
"""
QUERY_STOP_WORDS = INDEX_STOP_WORDS | frozenset(_QUESTION_WORDS.split())

TOKEN_PATTERN = r"\w+(?:\.?\w+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN, re.UNICODE)


def _folding_chain() -> Any:
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)


def stemming_analyzer() -> Analyzer:
    """Folded, stop-filtered, Porter-stemmed words: the definition `FastAnalyzer` and
    `SectionsAnalyzer` implement faster (a test holds them to it)."""
    return _folding_chain() | StopFilter(stoplist=INDEX_STOP_WORDS, minsize=2) | StemFilter(cachesize=-1)


def plain_analyzer() -> Analyzer:
    """Folded words without stemming (defines `FastAnalyzer(stemmed=False)`)."""
    return _folding_chain() | StopFilter(stoplist=INDEX_STOP_WORDS, minsize=2)


def autocomplete_analyzer() -> Analyzer:
    """Edge n-grams of folded words, so search-as-you-type is a single term lookup."""
    return _folding_chain() | NgramFilter(1, 24, at="start")


AUTOCOMPLETE_MAX = 24

SECTION_SEP = "\x1e"
BOOST_SEP = "\x1f"
SECTION_GAP = 100  # positions between sections, so a phrase never spans two fields
_CONTROL = re.compile("[\x1e\x1f]")


def weighted_sections(sections: Iterable[tuple[float, str]]) -> str:
    """Encode (boost, text) pairs as the single string `SectionsAnalyzer` reads."""
    return SECTION_SEP.join(f"{boost:.4f}{BOOST_SEP}{_CONTROL.sub(' ', text)}" for boost, text in sections if text)


def _terms(text: str, stemmed: bool) -> Iterator[str]:
    """The terms of `text`, exactly as `stemming_analyzer` / `plain_analyzer` would give them,
    without their chain of generators (indexing 10,000 teams analyses millions of words)."""
    for m in _TOKEN_RE.finditer(text):
        word = fold(m.group())
        if len(word) >= 2 and word not in INDEX_STOP_WORDS:
            yield stem(word) if stemmed else word


class FastAnalyzer(Analyzer):
    """A Whoosh analyzer yielding `_terms` with consecutive positions (stop words leave no gap,
    as in StopFilter(renumber=True))."""

    def __init__(self, stemmed: bool = True) -> None:
        self.stemmed = stemmed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FastAnalyzer) and other.stemmed == self.stemmed

    def __hash__(self) -> int:
        return hash((type(self), self.stemmed))

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, mode: str = "",
                 **kwargs: Any) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, boost=1.0)
        for pos, term in enumerate(_terms(value, self.stemmed), start=start_pos):
            token.text, token.pos, token.boost, token.stopped = term, pos, 1.0, False
            if chars:
                token.startchar = token.endchar = 0
            yield token


class SectionsAnalyzer(Analyzer):
    """Stems several fields into one, each field's terms weighted by its own boost.

    This is how the index gets BM25F: a term's weight in a team is the sum over fields of
    (field weight x frequency, already normalised by that field's length), and saturation is
    applied once to the sum. One posting list per term instead of one per field is also what
    keeps queries fast. Sections are SECTION_GAP positions apart for phrase queries.
    """

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SectionsAnalyzer)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, mode: str = "",
                 **kwargs: Any) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode)
        pos = start_pos
        for section in value.split(SECTION_SEP):
            boost_text, sep, text = section.partition(BOOST_SEP)
            boost = float(boost_text) if sep else 1.0
            for term in _terms(text if sep else boost_text, stemmed=True):
                token.text, token.pos, token.boost, token.stopped = term, pos, boost, False
                if chars:
                    token.startchar = token.endchar = 0
                yield token
                pos += 1
            pos += SECTION_GAP


def fold(text: str) -> str:
    """Lower-case and strip accents, the way the analyzers do."""
    return text.lower().translate(_ACCENT_TABLE)


class _AccentTable(dict[int, Any]):
    """str.translate table built lazily from whoosh's accent_map (which is itself lazy)."""

    def __missing__(self, key: int) -> Any:
        value = accent_map.get(key, key)
        if isinstance(value, int):
            value = chr(value)
        self[key] = value
        return value


_ACCENT_TABLE = _AccentTable()


def words(text: str) -> list[str]:
    """Folded word tokens, stop words kept (queries decide for themselves what to drop)."""
    return [fold(m.group()) for m in _TOKEN_RE.finditer(text)]


@functools.lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Porter stem of one folded word, identical to what the index holds."""
    return porter_stem(word)


def index_terms(text: str) -> list[str]:
    """The terms a stemmed field holds for this text, in order (stop words removed)."""
    return list(_terms(text, stemmed=True))


def term_count(text: str) -> int:
    """How many terms `index_terms` would give, without stemming them (field lengths)."""
    return sum(1 for _ in _terms(text, stemmed=False))


# -- normalising values that are looked up exactly -------------------------------------------

_PHONE_CHARS = re.compile(r"[\s().\-/]")


def contact_keys(value: str) -> set[str]:
    """Exact-match keys for a contact value or a typed query: address, channel, phone, URL.

    Both the index and the query side go through here, so `Payroll@Example.com `, `#it-help`
    and `it-help`, `+44 (20) 7946 0000` and `+442079460000` meet.
    """
    v = unicodedata.normalize("NFKC", value).strip().lower()
    if not v:
        return set()
    keys = {v}
    if v.startswith("mailto:"):
        keys.add(v[len("mailto:"):])
    if v.startswith("#") and len(v) > 1:
        keys.add(v[1:])
    digits = _PHONE_CHARS.sub("", v)
    if digits.lstrip("+").isdigit() and len(digits) >= 5:
        keys.add(digits)
    if "://" in v:
        bare = v.split("://", 1)[1].rstrip("/")
        keys.add(bare)
        keys.add(bare.removeprefix("www."))
    return keys


# -- Markdown to text --------------------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(^|\s)[#>]+\s|[*_`~]+|^\s*[-+]\s+|^\s*\d+\.\s+", re.MULTILINE)
_WS = re.compile(r"\s+")


def markdown_to_text(markdown: str) -> str:
    """Plain text of a Markdown description for indexing and snippets (markup would only add noise)."""
    text = _MD_LINK.sub(r"\1", markdown)
    text = _MD_MARKS.sub(" ", text)
    return _WS.sub(" ", text).strip()


# -- highlighting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HighlightTerms:
    """What to mark: stemmed terms, plus prefixes of folded words (from `pay*`)."""

    stems: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.stems or self.prefixes)

    @functools.cached_property
    def needles(self) -> tuple[str, ...]:
        """Substrings every matching word contains, for skipping text that cannot match without
        tokenizing it. Stemming only rewrites endings, but may touch a short stem's last letter
        ("cry" -> "cri"), hence two letters of those."""
        return tuple({s[:2] if len(s) <= 3 else s[:3] for s in self.stems} | {p[:3] for p in self.prefixes})

    @functools.cached_property
    def heads(self) -> frozenset[str]:
        """First two letters of every word that can match (Porter never changes those)."""
        return frozenset({s[:2] for s in self.stems} | {p[:2] for p in self.prefixes})


def _match_spans(text: str, folded: str, terms: HighlightTerms) -> list[tuple[int, int]]:
    """Character spans of the words whose stem (or folded form, for prefixes) was searched.

    Same tokenizing, folding, stop words and stemming as `stemming_analyzer`, without the
    generator chain: highlighting runs on every hit of every page.
    """
    if len(folded) != len(text):  # folding changed lengths (ß -> ss): offsets from the original
        return [(m.start(), m.end()) for m in _TOKEN_RE.finditer(text) if _is_hit(fold(m.group()), terms)]
    return [(m.start(), m.end()) for m in _TOKEN_RE.finditer(folded) if _is_hit(m.group(), terms)]


def _is_hit(word: str, terms: HighlightTerms) -> bool:
    if word[:2] not in terms.heads or len(word) < 2 or word in INDEX_STOP_WORDS:
        return False
    return stem(word) in terms.stems or (bool(terms.prefixes) and word.startswith(terms.prefixes))


def highlight(text: str, terms: HighlightTerms, max_chars: int | None = None) -> str | None:
    """HTML of `text` with every matched word in <mark>, or None when nothing matches.

    Everything outside the <mark> tags is escaped, so whatever a team wrote (even `<script>`)
    comes out as text. With `max_chars`, a window around the first match is returned, with
    ellipses where it was cut.
    """
    if not text or not terms:
        return None
    folded = fold(text)
    if not any(n in folded for n in terms.needles):
        return None
    spans = _match_spans(text, folded, terms)
    if not spans:
        return None
    start, end = 0, len(text)
    if max_chars is not None and len(text) > max_chars:
        first = spans[0][0]
        start = max(0, first - max_chars // 4)
        if start > 0:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 20 else start
        end = min(len(text), start + max_chars)
        if end < len(text):
            space = text.find(" ", end)
            end = space if 0 <= space - end < 20 else end
    out: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s, e in spans:
        if s < start or e > end:
            continue
        out.append(html.escape(text[pos:s], quote=False))
        out.append("<mark>" + html.escape(text[s:e], quote=False) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end], quote=False))
    if end < len(text):
        out.append("…")
    return "".join(out)


def iter_strings(values: Iterable[Any] | None) -> Iterator[str]:
    """Non-empty strings of a list that may hold anything (team data is user input)."""
    for value in values or ():
        if isinstance(value, str) and value.strip():
            yield value
