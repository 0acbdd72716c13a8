"""A notice in a real browser: an owner posts one from the team page, and readers meet it at once on
the page, in search results and in the status API."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser

TEAM = "collaboration-tools"  # kept by alice.morgan@example.com; no other browser test changes it
OWNER = "alice.morgan@example.com"


def test_an_owner_posts_a_notice_that_readers_see_at_once(live_server: Any, page: Any, log_in: Callable[..., None],
                                                          new_context: Callable[..., Any],
                                                          shoot: Callable[..., Any]) -> None:
    message = f"Zoom recordings are slow to appear this week ({time.time_ns()})"
    log_in(page, OWNER)
    page.goto(live_server(f"/teams/{TEAM}"))
    post = page.locator("#post-notice")
    post.locator("summary").click()
    post.get_by_label("Message").fill(message)
    post.get_by_label("Until (inclusive for whole days)").fill("2099-12-31")
    post.get_by_label("Level").select_option("warning")
    post.get_by_role("button", name="Post the notice").click()
    page.wait_for_url(live_server(f"/teams/{TEAM}"))
    assert "Notice posted" in page.locator(".flashes").inner_text()
    notice = page.locator("#notices .team-notice", has_text=message)
    assert notice.count() == 1
    assert "notice--warning" in (notice.get_attribute("class") or "")
    assert "Until Thu 31 Dec 2099" in notice.inner_text()
    shoot(page, "team-notice.png")

    reader = new_context().new_page()
    reader.goto(live_server("/search?q=zoom"))
    result = reader.locator(".result", has_text="Collaboration Tools")
    assert result.locator(".result__notice", has_text=message).count() == 1
    with urllib.request.urlopen(live_server(f"/api/v1/teams/{TEAM}/status"), timeout=10) as answer:
        assert message in [n["message"] for n in json.load(answer)["notices"]]
