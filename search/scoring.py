"""Ranking: BM25F scores of the query's concepts, phrase matches, exact-address bonuses, fusion
with semantic similarity, the review penalty, and the top of the ranking.

Scores are computed per term from the postings in C-level loops (`map`) and cached on the
snapshot, so a common word matching thousands of teams stays cheap on repeat.
"""

from __future__ import annotations

import heapq
import statistics
from itertools import repeat
from operator import add, mul, sub, truediv

from search.analysis import HighlightTerms, words
from search.documents import decode_positions
from search.query import SYNONYM, SYNONYM_WEIGHT, TYPED, Concept, exact_docs, is_contact, replace_words, understand
from search.semantic import Asker, fuse
from search.snapshots import Snapshot
from search.synonyms import SynonymMap

K1 = 2.0                   # term-weight saturation: higher lets field weights matter more
DISMAX_TIEBREAK = 0.3      # a team matching several alternatives of one concept gains a little
EXACT_BONUS = 1000.0       # an exact contact address or slug puts its team first
REVIEW_PENALTY = 0.85      # a page overdue for review ranks a little lower, never out of the results
STRONG_SHARE = 0.5         # a team scoring at least this share of the best score is a strong match
RARE_TEAMS = 1             # a typed word found in at most this many teams (or RARE_SHARE of them)
RARE_SHARE = 0.01          # is rare: every team using it is a strong match
KIN_WEIGHT = 1.5           # in the long tail, a team of a strong match's department ranks as if this much better
LIFT_CAP = 0.25            # people's choices raise a team's score by at most this fraction


def term_scores(snap: Snapshot, text: str) -> dict[int, float]:
    """BM25F score of one stemmed term in every live team that has it (docnum -> score)."""
    cached = snap.term_scores.get(text)
    if cached is not None:
        return cached
    factor = snap.searcher.idf("body", text) * (K1 + 1.0)
    scores: dict[int, float] = {}
    for leaf in snap.leaves:
        ids, weights = snap.caches.postings(leaf, "body", text)
        # factor * w / (w + K1) per posting, in C-level loops (map) rather than Python ones
        values = map(truediv, map(mul, weights, repeat(factor)), map(add, weights, repeat(K1)))
        scores.update(zip(map(add, ids, repeat(leaf.offset)), values, strict=True))
        for d in leaf.deleted:
            scores.pop(d + leaf.offset, None)
    snap.hold_scores(len(scores))
    snap.term_scores[text] = scores
    return scores


def phrase_docs(snap: Snapshot, stems: tuple[str, ...], candidates: set[int]) -> set[int]:
    """Which candidate teams have the stems at consecutive positions."""
    found: set[int] = set()
    for leaf in snap.leaves:
        local = [d - leaf.offset for d in candidates if leaf.offset <= d < leaf.offset + leaf.size]
        if not local:
            continue
        per_word = [snap.caches.positions(leaf, s) for s in stems]
        for d in local:
            starts = set(decode_positions(per_word[0][d]))
            for i, positions in enumerate(per_word[1:], start=1):
                starts.intersection_update(p - i for p in decode_positions(positions[d]))
                if not starts:
                    break
            if starts:
                found.add(d + leaf.offset)
    return found


def alternative_scores(snap: Snapshot, stems: tuple[str, ...]) -> dict[int, float]:
    if len(stems) == 1:
        return term_scores(snap, stems[0])
    per_word = [term_scores(snap, s) for s in stems]
    if not all(per_word):
        return {}
    candidates = set(min(per_word, key=len)).intersection(*per_word)
    return {d: sum(p[d] for p in per_word) for d in phrase_docs(snap, stems, candidates)}


def concept_scores(snap: Snapshot, concept: Concept) -> dict[int, float]:
    """Doc -> score for one concept: its best alternative, plus a share of the others.

    A team found only through a synonym scores at most SYNONYM_WEIGHT times the median score of
    the teams using the word as typed: a synonym widens the search without letting another sense
    of it ("notebook" for "laptop": GPU notebooks) outrank the word the person chose, and a
    typed word used in another sense by a few teams ("bill" for a cloud bill) still lets the
    synonym ("invoice") find the right one. When nobody uses the typed word, synonyms carry
    the concept alone."""
    cache_key = (tuple(sorted(concept.alternatives.items())), tuple(sorted(concept.origins.items())))
    cached = snap.concept_scores.get(cache_key)
    if cached is not None:
        return cached
    alternatives = [(alternative_scores(snap, stems), weight)
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
        if concept.of_origin(SYNONYM):
            _cap_synonym_only(snap, concept, result)
    snap.hold_scores(len(result))
    snap.concept_scores[cache_key] = result
    return result


def _typed_docs(snap: Snapshot, concept: Concept) -> set[int]:
    typed: set[int] = set()
    for stems in concept.of_origin(TYPED):
        typed.update(alternative_scores(snap, stems))
    return typed


def synonym_only_docs(snap: Snapshot, concept: Concept) -> set[int]:
    """Teams a concept finds only through one of its synonyms while other teams use the word as
    typed. One synonym alone may be another sense of the word ("notebook" for GPU notebooks); two
    entries of the group on one page ("press" and "journalist" for "reporter", whose stem
    "report" is everywhere) confirm the meaning, and such a team is not held back."""
    typed = _typed_docs(snap, concept)
    if not typed:
        return set()
    seen: set[int] = set()
    again: set[int] = set()
    for stems in concept.of_origin(SYNONYM):
        found = alternative_scores(snap, stems).keys()
        again.update(found & seen)
        seen.update(found)
    return seen - again - typed


def _cap_synonym_only(snap: Snapshot, concept: Concept, result: dict[int, float]) -> None:
    typed = _typed_docs(snap, concept) & result.keys()
    if not typed:
        return
    ceiling = statistics.median_low(map(result.__getitem__, typed)) * SYNONYM_WEIGHT
    for d in synonym_only_docs(snap, concept) & result.keys():
        if result[d] > ceiling:
            result[d] = ceiling


def widened_docs(snap: Snapshot, concepts: list[Concept]) -> set[int]:
    """Teams the query's words find only through synonyms of words other teams use as typed."""
    only = [synonym_only_docs(snap, concept) for concept in concepts]
    widened = set().union(*only)
    if not widened:  # the usual case: no synonym found a team the typed words missed
        return widened
    for concept, synonym_only in zip(concepts, only, strict=True):
        found = concept_scores(snap, concept)
        widened = {d for d in widened if d not in found or d in synonym_only}
    return widened


def rare_word_docs(snap: Snapshot, concepts: list[Concept]) -> set[int]:
    """Teams using a word of the query (as typed, or corrected) that few teams use: however low
    such a team scores overall, it has the one thing that singles it out."""
    limit = max(RARE_TEAMS, RARE_SHARE * len(snap.live))
    docs: set[int] = set()
    for concept in concepts:
        for stems in concept.of_origin(TYPED):
            found = alternative_scores(snap, stems)
            if len(found) <= limit:
                docs.update(found)
    return docs


def strong_matches(scores: dict[int, float], rare: set[int], widened: frozenset[int] | set[int] = frozenset()
                   ) -> set[int]:
    """The teams that answer the query, as opposed to the long tail that merely mentions some of
    its words: those scoring at least STRONG_SHARE of the best score, unless only synonyms of the
    words found them (`widened_docs`), and every team using a rare word of the query
    (`rare_word_docs`)."""
    if not scores:
        return set()
    bar = max(scores.values()) * STRONG_SHARE
    strong = {d for d, s in scores.items() if s >= bar and d not in widened}
    strong.update(d for d in rare if d in scores)
    return strong


def strong_first(snap: Snapshot, scores: dict[int, float], strong: set[int]) -> dict[int, float]:
    """Scores to order by: every strong match above every other team; in the tail, a team of a
    strong match's department (the same kind of help) counts KIN_WEIGHT times its score."""
    if not strong or not scores:
        return scores
    order = dict(scores)
    department = snap.department
    kin = {department[d] for d in strong} - {""}
    if kin and len(strong) < len(scores):
        for d in scores.keys() - strong:
            if department[d] in kin:
                order[d] *= KIN_WEIGHT
    lift = max(order.values()) + 1.0
    for d in strong:
        order[d] = scores[d] + lift
    return order


def rank(snap: Snapshot, synonyms: SynonymMap, q: str,
         similarity: Asker | None = None
         ) -> tuple[dict[int, float], set[int], str | None, HighlightTerms, set[int]]:
    """Scores of the teams matching a query (none for an empty one: all match, listed by name),
    the matching set, the "did you mean" suggestion, the terms to highlight and the strong
    matches (`strong_matches`; every team, for an empty query)."""
    suggestion = None
    terms = HighlightTerms(frozenset())
    exact = exact_docs(snap, q) if q else set()
    if not q or q == "*":
        matched: set[int] = snap.live
        scores: dict[int, float] = {}
        strong = matched
    elif exact and is_contact(q):  # an address names its team: nothing else is relevant
        scores = dict.fromkeys(exact, EXACT_BONUS)
        matched = strong = set(exact)
    else:
        concepts, corrected = understand(snap, synonyms, q)
        pending = similarity(q, corrected) if similarity else None  # meaning is worked out meanwhile
        scores = score(snap, concepts)
        rare = rare_word_docs(snap, concepts)
        meaning = pending() if pending else None
        if meaning:
            scores = fuse(scores, meaning.keyed(snap.ids, snap.docnum_of), len(words(q)))
        for docnum in exact:
            scores[docnum] = scores.get(docnum, 0.0) + EXACT_BONUS
        matched = set(scores)
        strong = strong_matches(scores, rare | exact, widened_docs(snap, concepts))
        if corrected:
            suggestion = replace_words(q, corrected)
        terms = HighlightTerms(
            frozenset(s for c in concepts for alt in c.alternatives for s in alt),
            tuple(p for c in concepts for p in c.prefixes),
        )
    return scores, matched, suggestion, terms, strong


def demote_overdue(snap: Snapshot, scores: dict[int, float], cutoffs: tuple[str, str]) -> dict[int, float]:
    """The scores with pages overdue for review multiplied by REVIEW_PENALTY: a little lower,
    so an equally good current page comes first, and a far better stale one still wins."""
    demoted = dict(scores)
    for d in snap.overdue_docs(cutoffs).intersection(scores):
        demoted[d] = scores[d] * REVIEW_PENALTY
    return demoted


def lift_chosen(snap: Snapshot, scores: dict[int, float], lifts: dict[int, float]) -> dict[int, float]:
    """The scores with teams people chose for this query raised by their lift ({team id: fraction},
    `directory.search_learning`), at most LIFT_CAP: applied last, only to teams the query matched,
    so it reorders near-ties and never brings in a team the words did not find."""
    docnum_of = snap.docnum_of
    raised = dict(scores)
    for team_id, fraction in lifts.items():
        docnum = docnum_of.get(team_id)
        if docnum is not None and docnum in raised:
            raised[docnum] *= 1.0 + min(max(fraction, 0.0), LIFT_CAP)
    return raised


def top(snap: Snapshot, docs: set[int], scores: dict[int, float], k: int) -> list[int]:
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


def score(snap: Snapshot, concepts: list[Concept]) -> dict[int, float]:
    """Sum of concept scores, scaled by the share of concepts a team matches (OR with a bonus
    for matching everything: a team matching two of two words beats one matching one word
    twice as strongly)."""
    per_concept = [scores for scores in (concept_scores(snap, c) for c in concepts) if scores]
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
