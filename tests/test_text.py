"""directory.text: the characters no backend can store, named in words a person can act on."""

from __future__ import annotations

import pytest

from directory.text import storable, text_problem


@pytest.mark.parametrize("text", ["", "Payroll", "Ré: paie", "日本語", "emoji 🎉 outside the BMP", "tab\tand\nnewline"])
def test_ordinary_text_is_storable(text: str) -> None:
    assert text_problem(text) is None
    assert storable(text)


def test_nul_is_named() -> None:
    assert text_problem("pay\x00roll") == "must not contain the NUL character (\\u0000)"
    assert not storable("\x00")


@pytest.mark.parametrize(("text", "code", "position"), [
    ("\ud800", "d800", 0),
    ("abc\udfff", "dfff", 3),
    ("x\udc00\ud83d", "dc00", 1),
])
def test_a_lone_surrogate_is_named_with_its_code_and_position(text: str, code: str, position: int) -> None:
    problem = text_problem(text)
    assert problem is not None
    assert f"lone surrogate (\\u{code}) at position {position}" in problem
    assert not storable(text)


def test_the_first_unstorable_character_is_the_one_named() -> None:
    assert text_problem("a\x00\ud800") == "must not contain the NUL character (\\u0000)"
    problem = text_problem("a\ud800\x00")
    assert problem is not None and "lone surrogate" in problem


def test_a_proper_surrogate_pair_decoded_from_json_is_storable() -> None:
    import json

    text = json.loads('"\\ud83c\\udf89"')
    assert text == "🎉" and storable(text) and text_problem(text) is None
    lone = json.loads('"\\ud83c"')
    assert not storable(lone)
