"""The uses of Whoosh's private APIs give what its public ones would, so an upgrade that changes
them fails here rather than in rankings."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from search import SearchIndex
from search.documents import INDEX_NAME, build_schema, codec, document_fields
from search.whoosh_internals import install_build, leaves, read_build, read_positions, read_postings
from tests.search.sample import team

MANY = 300  # several posting blocks (Whoosh writes 128 postings a block)


@pytest.fixture
def big(tmp_path: Path) -> SearchIndex:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild([team(i, f"t{i}", f"Team {i}", summary="Payroll help " * (1 + i % 3)) for i in range(1, MANY + 1)],
               seq=1)
    return ix


def _public(reader: object, fieldname: str, text: str) -> list[tuple[int, float, bytes]]:
    matcher = reader.postings(fieldname, text)  # type: ignore[attr-defined]
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    return found


def test_postings_read_block_by_block_match_the_matcher_api(big: SearchIndex) -> None:
    searcher = whoosh_index.open_dir(str(big.path), indexname=INDEX_NAME).searcher()
    try:
        [leaf] = leaves(searcher)
        expected = _public(leaf.reader, "body", "payroll")
        assert len(expected) == MANY
        ids, weights = read_postings(leaf.reader, "body", "payroll")
        assert ids == [d for d, _, _ in expected]
        assert weights == pytest.approx([w for _, w, _ in expected])
        assert read_positions(leaf.reader, "body", "payroll") == {d: v for d, _, v in expected}
        assert read_postings(leaf.reader, "body", "absent") == ([], [])
        assert read_positions(leaf.reader, "body", "absent") == {}
    finally:
        searcher.close()


def test_leaves_give_each_segment_its_offset_and_deletions(big: SearchIndex) -> None:
    big.apply([team(MANY + 1, "new", "New Team")], [2], seq=2)
    searcher = whoosh_index.open_dir(str(big.path), indexname=INDEX_NAME).searcher()
    try:
        found = leaves(searcher)
        assert sum(leaf.size for leaf in found) == searcher.doc_count_all()
        assert [leaf.offset for leaf in found] == [sum(leaf.size for leaf in found[:i]) for i in range(len(found))]
        deleted = {leaf.offset + d for leaf in found for d in leaf.deleted}
        assert {searcher.stored_fields(d)["doc"]["id"] for d in deleted} == {2}
        assert len({leaf.segment_id for leaf in found}) == len(found)
    finally:
        searcher.close()


def _build(folder: Path, teams: list[dict[str, object]]) -> None:
    ix = FileStorage(str(folder)).create().create_index(build_schema(), indexname=INDEX_NAME)
    writer = ix.writer(codec=codec(), compound=False)
    for doc in teams:
        writer.add_document(**document_fields(doc))
    writer.commit()


def test_an_installed_build_is_the_next_generation_and_the_old_files_go(tmp_path: Path) -> None:
    path, first, second = tmp_path / "index", tmp_path / "first", tmp_path / "second"
    _build(first, [team(1, "a", "Alpha")])
    path.mkdir()
    install_build(read_build(first), first, path)
    ix = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
    generation = ix.latest_generation()
    assert generation > 0  # a new folder starts at a random generation, never 0 again
    old_files = set(p.name for p in path.iterdir())
    _build(second, [team(2, "b", "Beta"), team(3, "c", "Gamma")])
    install_build(read_build(second), second, path)
    ix = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
    assert ix.latest_generation() == generation + 1
    assert ix.doc_count() == 2
    assert not old_files & set(p.name for p in path.iterdir())
