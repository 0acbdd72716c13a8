"""Query understanding: what someone typed, turned into concepts to score.

A query is split into words, quoted phrases and explicit prefixes (`parse`); `understand` then
recognises synonym entries, drops question words, completes a trailing word and corrects typos
against the index's vocabulary, giving each concept its weighted alternatives. `exact_docs`
finds teams named by a contact address or slug in the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from whoosh.query import Term

from search.analysis import INDEX_STOP_WORDS, QUERY_STOP_WORDS, TOKEN_PATTERN, contact_keys, fold, stem, words
from search.snapshots import Snapshot
from search.spelling import max_distance
from search.synonyms import SynonymMap, entry_stems

SYNONYM_WEIGHT = 0.8       # a synonym counts a little less than the word typed
PREFIX_WEIGHT = 0.7        # as does a word completed from a prefix
CORRECTION_WEIGHT = 0.9    # and a corrected typo
SPLIT_WORD_WEIGHT = 0.5    # a word of a multi-word synonym, found on its own
MAX_PREFIX_EXPANSIONS = 16
SHORT_QUERY = 3            # implicit prefix on the last word only up to this many words
MIN_CORRECTED_IN_CONTEXT = 5  # shortest unknown word corrected when the query has other words
FEW_HITS = 2               # a known word in at most this many teams may still be a typo
MAX_QUERY_WORDS = 32       # a pasted paragraph is searched by its first words
TYPED, SYNONYM = "typed", "synonym"  # origins of a concept's alternatives (`Concept.origins`)
# Negative contractions typed without their apostrophe. Pages spell them "won't", which the index
# holds as "won" (the "t" is too short to keep): "wont" is searched the same way.
_BARE_CONTRACTIONS = frozenset({
    "aint", "arent", "cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "isnt", "mustnt",
    "neednt", "shant", "shouldnt", "wasnt", "werent", "wont", "wouldnt"})


@dataclass
class Concept:
    """One thing the user asked for: the alternatives (stem tuples, weight) any of which will do.

    `origins` says where an alternative came from: TYPED (the words as typed, or their
    correction), SYNONYM (the synonym file) or "" (a completion, one word of a typed phrase).
    Scoring keeps synonym-only matches below typed-word ones, and a rare typed word makes a
    strong match."""

    alternatives: dict[tuple[str, ...], float]
    prefixes: tuple[str, ...] = ()  # for highlighting completed words
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)

    def add(self, stems: tuple[str, ...], weight: float, origin: str = "") -> None:
        if stems and weight > self.alternatives.get(stems, 0.0):
            self.alternatives[stems] = weight
            self.origins[stems] = origin

    def of_origin(self, origin: str) -> list[tuple[str, ...]]:
        return [stems for stems in self.alternatives if self.origins.get(stems, "") == origin]


_QUERY_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass
class Item:
    kind: str          # "word", "phrase" or "prefix"
    text: str          # folded word, prefix, or phrase text


def parse(q: str) -> list[Item]:
    items: list[Item] = []
    for m in _QUERY_TOKEN.finditer(q):
        if m.group(1) is not None:
            if words(m.group(1)):
                items.append(Item("phrase", m.group(1)))
            continue
        token = m.group(2)
        if token.endswith("*") and len(words(token)) == 1:
            items.append(Item("prefix", words(token)[0]))
            continue
        for w in words(token):
            items.extend(Item("word", part) for part in ((w[:-1], "t") if w in _BARE_CONTRACTIONS else (w,)))
    return items


_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{5,}$")


def is_contact(q: str) -> bool:
    """Whether the query is one contact value (an address, a channel, a phone number, a URL)."""
    q = q.strip()
    if _PHONE_LIKE.match(q):
        return True
    return len(q.split()) == 1 and ("@" in q or q.startswith("#") or "://" in q)


def replace_words(q: str, replacements: dict[str, str]) -> str:
    """The query as typed, with corrected words swapped in (for "did you mean")."""
    return _WORD.sub(lambda m: replacements.get(fold(m.group()), m.group()), q)


_WORD = re.compile(TOKEN_PATTERN)


def is_known(snap: Snapshot, stem_text: str) -> bool:
    known = snap.known.get(stem_text)
    if known is None:
        reader = snap.searcher.reader()
        known = reader.doc_frequency("body", stem_text) > 0
        snap.known[stem_text] = known
    return known


def expand_prefix(snap: Snapshot, prefix: str) -> list[str]:
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


def correct(snap: Snapshot, word: str, *, max_dist: int | None = None, min_df: int = 1) -> str | None:
    """The likeliest intended vocabulary word for `word`, or None: nearest first, then a
    shared first letter (typos rarely hit it), then the most teams."""
    if max_distance(word) == 0 or not word.isalpha():
        return None
    reader = snap.searcher.reader()
    best: tuple[Any, ...] | None = None
    for cand, dist in snap.caches.speller(snap.leaves).candidates(word, max_dist):
        if dist == 2 and cand[0] != word[0]:
            continue
        df = reader.doc_frequency("vocab", cand)
        if df < min_df or stem(cand) == stem(word):
            continue
        key = (dist, cand[0] != word[0], -df, cand)
        if best is None or key < best:
            best = key
    return best[-1] if best else None


def rare_word_fix(snap: Snapshot, word: str, stem_text: str) -> str | None:
    """A much commoner near-identical word for a word only a team or two use ("payrol" in
    one team's typo'd text, when "payroll" is everywhere), else None."""
    if len(word) < MIN_CORRECTED_IN_CONTEXT:
        return None
    df = snap.searcher.reader().doc_frequency("body", stem_text)
    if df > FEW_HITS:
        return None
    return correct(snap, word, max_dist=1, min_df=max(5, 10 * df))


def _synonym_spans(synonyms: SynonymMap, items: list[Item], keys: list[str]) -> dict[int, tuple[int, int]]:
    """Each item inside a synonym entry, mapped to that entry's (start, end) run. Entries are
    recognised on the words as typed (stop words included: "log in"), unless all stop words."""
    in_span: dict[int, tuple[int, int]] = {}
    for start, end in synonyms.spans(keys) if synonyms.longest else ():
        if all(items[k].text in QUERY_STOP_WORDS for k in range(start, end)):
            continue
        for k in range(start, end):
            in_span[k] = (start, end)
    return in_span


def _content_positions(items: list[Item], in_span: dict[int, tuple[int, int]]) -> list[int]:
    """Positions of the items worth searching: question words and one-letter words are dropped,
    unless the query has nothing else (then only the index's own stop words are)."""
    def is_content(i: int, it: Item) -> bool:
        return it.kind != "word" or i in in_span or (it.text not in QUERY_STOP_WORDS and len(it.text) >= 2)

    content = [i for i, it in enumerate(items) if is_content(i, it)]
    if not content:
        content = [i for i, it in enumerate(items) if it.text not in INDEX_STOP_WORDS and len(it.text) >= 2]
    return content


def _span_concept(synonyms: SynonymMap, items: list[Item], keys: list[str], span: tuple[int, int]) -> Concept:
    """A synonym entry as typed, its group's other entries, and its words one by one."""
    typed = " ".join(items[k].text for k in range(*span))
    concept = Concept({})
    typed_stems = entry_stems(typed)
    concept.add(typed_stems, 1.0, TYPED)
    for alt in synonyms.expand(tuple(keys[span[0]:span[1]])):
        concept.add(alt.stems, SYNONYM_WEIGHT * len(alt.stems) / len(alt.key), SYNONYM)
    if len(typed_stems) > 1:
        for s in typed_stems:
            concept.add((s,), SPLIT_WORD_WEIGHT)
    return concept


def _phrase_concept(text: str) -> Concept:
    phrase = entry_stems(text)
    return Concept({phrase: 1.0}, origins={phrase: TYPED}) if phrase else Concept({})


def _prefix_concept(snap: Snapshot, prefix: str) -> Concept:
    """An explicit prefix: the word itself if the index has it, and its commonest completions."""
    concept = Concept({}, prefixes=(prefix,))
    if is_known(snap, stem(prefix)):
        concept.add((stem(prefix),), 1.0, TYPED)
    for w in expand_prefix(snap, prefix):
        concept.add((stem(w),), PREFIX_WEIGHT)
    return concept


def _known_word_concept(snap: Snapshot, word: str, s: str, corrected: dict[str, str]) -> Concept:
    """A word the index has, plus a much commoner near-twin if it is rare (search both; suggest
    the commoner one)."""
    concept = Concept({})
    concept.add((s,), 1.0, TYPED)
    fixed = rare_word_fix(snap, word, s)
    if fixed is not None:
        corrected[word] = fixed
        concept.add((stem(fixed),), CORRECTION_WEIGHT, TYPED)
    return concept


def _unknown_word_concept(snap: Snapshot, synonyms: SynonymMap, word: str, corrected: dict[str, str], *,
                          complete: bool, may_correct: bool) -> Concept:
    """A word the index lacks: its completions if `complete`, else (or if there are none) its
    correction with the correction's synonyms, if `may_correct`."""
    concept = Concept({})
    if complete:
        completions = expand_prefix(snap, word)
        for w in completions:
            concept.add((stem(w),), PREFIX_WEIGHT)
        if completions:
            concept.prefixes = (word,)
    if not concept.alternatives and may_correct:
        fixed = correct(snap, word)
        if fixed is not None:
            corrected[word] = fixed
            concept.add((stem(fixed),), CORRECTION_WEIGHT, TYPED)
            for alt in synonyms.expand((stem(fixed),)):
                concept.add(alt.stems, SYNONYM_WEIGHT * CORRECTION_WEIGHT * len(alt.stems) / len(alt.key), SYNONYM)
    return concept


UNDERSTOOD_KEPT = 256


def understand(snap: Snapshot, synonyms: SynonymMap, q: str) -> tuple[list[Concept], dict[str, str]]:
    """What the query asks for, after synonyms, stop words, prefixes and corrections; kept per
    snapshot for the few queries last asked, since a served search asks twice (its corrections
    go to the search service before the words are scored), and correcting unknown words costs
    milliseconds."""
    kept = snap.understood.get(q)
    if kept is not None and kept[0] is synonyms:
        return kept[1]
    understood = _understand(snap, synonyms, q)
    if len(snap.understood) >= UNDERSTOOD_KEPT:
        snap.understood.clear()
    snap.understood[q] = (synonyms, understood)
    return understood


def _understand(snap: Snapshot, synonyms: SynonymMap, q: str) -> tuple[list[Concept], dict[str, str]]:
    items = parse(q)[:MAX_QUERY_WORDS]
    keys = [stem(it.text) if it.kind == "word" else "\x00" for it in items]
    in_span = _synonym_spans(synonyms, items, keys)
    content = _content_positions(items, in_span)
    concepts: list[Concept] = []
    corrected: dict[str, str] = {}
    done_spans: set[tuple[int, int]] = set()
    last = content[-1] if content else -1
    short = len(content) <= SHORT_QUERY
    for i in content:
        item, span = items[i], in_span.get(i)
        if span is not None:
            if span in done_spans:
                continue
            done_spans.add(span)
            concept = _span_concept(synonyms, items, keys, span)
        elif item.kind == "phrase":
            concept = _phrase_concept(item.text)
        elif item.kind == "prefix":
            concept = _prefix_concept(snap, item.text)
        elif is_known(snap, stem(item.text)):
            concept = _known_word_concept(snap, item.text, stem(item.text), corrected)
        else:
            # In a longer query an unknown short word is more often a word the index lacks
            # ("much") than a typo, and the other words carry the search.
            concept = _unknown_word_concept(
                snap, synonyms, item.text, corrected, complete=i == last and short,
                may_correct=len(content) == 1 or len(item.text) >= MIN_CORRECTED_IN_CONTEXT)
        if concept.alternatives:
            concepts.append(concept)
    return concepts, corrected


def exact_docs(snap: Snapshot, q: str) -> set[int]:
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
