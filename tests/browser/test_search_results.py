"""The results page as people see it: the strong matches first, the long tail folded away under a
labelled, counted heading that the keyboard opens, on a phone and on a desktop."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_what_people_see import DESKTOP, PHONE, overflow, wide_elements

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_strong_matches_first_and_the_tail_folded_under_its_heading(new_context: Any, live_server: Any, shoot: Any,
                                                                    watched: Any, viewport: dict[str, int]) -> None:
    page = new_context(viewport=viewport).new_page()
    problems = watched(page)
    page.goto(live_server("/search?q=NDA+review"))
    count = page.locator("#results-title").inner_text()
    assert re.search(r"\b1 strong match\b", count), count
    strong = page.locator(".results > .result-list > .result")
    assert strong.count() == 1
    assert "Commercial Contracts" in strong.first.locator(".result__name").inner_text()

    tail = page.locator("details.results-tail")
    summary = tail.locator("summary")
    label = summary.inner_text()
    assert "Other teams that mention these words" in label
    total = int(re.search(r"(\d+) teams", count).group(1))
    assert re.search(rf"\b{total - 1}\b", label), label  # every other team is counted, none dropped
    tail_results = tail.locator(".result")
    assert tail_results.count() == total - 1
    assert not tail_results.first.is_visible()  # folded away until asked for
    assert overflow(page) == 0, wide_elements(page)
    shoot(page, f"search-tail-closed-{viewport['width']}.png")

    summary.focus()
    page.keyboard.press("Enter")  # the keyboard opens it, as a click would
    assert tail.evaluate("el => el.open")
    assert tail_results.first.is_visible()
    assert "to=sre-on-call" in tail.inner_html()  # the SRE team mentions reviews: in the tail, not dropped
    assert overflow(page) == 0, wide_elements(page)
    shoot(page, f"search-tail-open-{viewport['width']}.png")
    assert not problems, problems


def test_an_owners_name_finds_their_teams_on_the_page(page: Any, live_server: Any) -> None:
    page.goto(live_server("/search?q=Emma+Rossi"))
    names = page.locator(".result__name").all_inner_texts()
    assert "Commercial Contracts" in names and "Employment Law" in names
    assert "Owned by: Emma Rossi" in page.locator(".result").first.inner_text()
