"""Kudos in a real browser: a colleague thanks a team from its page, sees the thanks there and in
the company feed, and the team's owner finds it on "My teams"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser

TEAM = "network-vpn"  # kept by ivan.petrov@example.com; no other browser test thanks it
GIVER = "emma.rossi@example.com"
OWNER = "ivan.petrov@example.com"


def test_giving_kudos_shows_on_the_team_page(live_server: Any, page: Any, log_in: Callable[..., None],
                                             new_context: Callable[..., Any], shoot: Callable[..., Any]) -> None:
    message = f"The VPN fix saved our client demo ({time.time_ns()})"
    log_in(page, GIVER)
    page.goto(live_server(f"/teams/{TEAM}"))
    kudos = page.locator("#kudos")
    kudos.get_by_label("Thank Network & VPN").fill(message)
    kudos.get_by_label("People to name (optional)").fill("Ivan Petrov")
    kudos.get_by_role("button", name="Send kudos").click()
    page.wait_for_url(live_server(f"/teams/{TEAM}#kudos"))
    assert "and its owners will see your kudos" in page.locator(".flashes").inner_text()
    item = page.locator("#kudos .kudos-item", has_text=message)
    assert item.count() == 1
    assert "thanking Ivan Petrov" in item.inner_text()
    shoot(page, "team-kudos.png")

    page.goto(live_server("/kudos"))
    assert page.locator(".kudos-feed .kudos-item", has_text=message).count() == 1

    owner = new_context().new_page()
    log_in(owner, OWNER)
    owner.goto(live_server("/me"))
    assert message in owner.locator("#kudos-received").inner_text()
    owner.goto(live_server(f"/teams/{TEAM}"))
    assert "you cannot thank this team yourself" in owner.locator("#kudos").inner_text()
    assert owner.get_by_role("button", name="Send kudos").count() == 0
