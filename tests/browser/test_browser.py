"""The pages in a real browser: search, a team in another time zone, editing with history and
restore, edit conflicts, permissions, XSS, keyboard-only use. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.browser

OWNER = "david.chen@example.com"  # owns Payroll, Expenses & Travel, Tax, Treasury and Accounts Payable
ADMIN = "admin@example.com"


def expect_text(locator: Any, pattern: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(re.compile(pattern))


def expect_open(row: Any, interval: str) -> None:
    """A grid row shows the interval, unless this week's holiday or closure closes that day."""
    text = row.inner_text()
    if interval not in text:
        assert row.locator(".day-note").count(), text


def stored(live: Any, slug: str) -> dict[str, Any]:
    """The team as the API serves it now (version included)."""
    return live.team(slug)[0]


def test_search_with_a_typo_opens_the_right_team(page: Any, live_server: Any, shoot: Any) -> None:
    page.goto(live_server("/"))
    shoot(page, "home.png")
    page.get_by_role("combobox", name="Search the directory").fill("payrll")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=payrll"))
    expect_text(page.locator(".did-you-mean"), "Did you mean payroll")
    first = page.locator(".result").first
    expect_text(first.locator(".result__name"), "^Payroll$")
    shoot(page, "results.png")
    first.get_by_role("link", name="Payroll").click()
    page.wait_for_url(live_server("/teams/payroll"))
    expect_text(page.locator("h1"), "Payroll")

    # facets filter without a separate button (the page script submits on change)
    page.goto(live_server("/search?q=laptop"))
    page.locator(".facet").get_by_role("checkbox", name=re.compile(r"^IT \d")).first.check()
    page.wait_for_url(re.compile(r"department=IT"))
    assert page.locator(".chip").filter(has_text="IT").count() == 1


def test_team_in_another_time_zone(new_context: Any, live_server: Any, watched: Any, shoot: Any) -> None:
    """A reader in New York looks at a team in Bengaluru: both clocks, and a live badge."""
    context = new_context(timezone_id="America/New_York")
    page = context.new_page()
    problems = watched(page)
    page.clock.install()
    page.goto(live_server("/teams/software-licensing"))
    # First visit: the script stores the reader's zone and reloads once to show "your time".
    page.wait_for_selector("th.reader-col")
    assert page.locator("#status").get_attribute("data-reader-tz") == "America/New_York"
    expect_text(page.locator(".hours-note"), r"America/New_York, (9|10) h 30 min behind the team")

    team_zone, reader_zone = ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")
    today = datetime.now(UTC).astimezone(team_zone).date()
    monday = today - timedelta(days=today.weekday())
    rows = page.locator("#hours-grid tbody tr")
    checked = 0
    for index in range(5):  # Monday to Friday, 09:30-18:00 in Bengaluru (unless a holiday closes one)
        row = rows.nth(index)
        if "09:30–18:00" not in row.locator("td").first.inner_text():
            continue
        day = monday + timedelta(days=index)
        start = datetime.combine(day, time(9, 30), tzinfo=team_zone).astimezone(reader_zone)
        end = datetime.combine(day, time(18, 0), tzinfo=team_zone).astimezone(reader_zone)
        reader_cell = row.locator("td.reader-col").inner_text()
        assert f"{start:%H:%M}" in reader_cell and f"{end:%H:%M}" in reader_cell, reader_cell
        checked += 1
    assert checked, "no open weekday this week to compare"
    today_row = page.locator('#hours-grid tr[aria-current="date"]')
    expect_text(today_row, "Today")

    # the badge agrees with the status API, in words for both zones
    status_url = live_server("/api/v1/teams/software-licensing/status?tz=America/New_York")
    status = page.request.get(status_url).json()
    badge = page.locator("#status-badge")
    if ("badge--open" in badge.get_attribute("class")) != status["open"]:  # opened or closed just now?
        page.reload()
        status = page.request.get(status_url).json()
    assert ("badge--open" in badge.get_attribute("class")) == status["open"]
    expect_text(badge, r"^(Open until|(Closed|Temporarily closed)\b.* — opens)")  # "Closed for Christmas Day — opens …"
    if status["text"]["badge_reader"]:
        expect_text(page.locator("#status-badge-reader"), "your time")
    expect_text(page.locator(".reply-by__main"), "If you ask now, expect a reply by")

    # refreshed from the status API every minute
    assert page.locator("#status").get_attribute("data-refreshed-at") is None
    page.clock.fast_forward("01:05")
    from playwright.sync_api import expect

    expect(page.locator("#status")).to_have_attribute("data-refreshed-at", re.compile(r"^\d{4}-"))
    expect_text(badge, r"^(Open until|(Closed|Temporarily closed)\b.* — opens)")  # "Closed for Christmas Day — opens …"
    shoot(page, "team-other-timezone.png")
    assert not problems, problems


def test_team_page_screenshot_for_the_readme(page: Any, live_server: Any, shoot: Any) -> None:
    page.goto(live_server("/teams/payroll"))
    page.wait_for_selector("#hours-grid")
    expect_text(page.locator(".book"), "Open the request form")
    shoot(page, "team-page.png", readme=True)


def test_owner_edits_hours_sees_the_revision_and_restores(page: Any, live_server: Any, log_in: Any) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, OWNER)
    before = stored(live_server, "payroll")
    page.goto(live_server("/teams/payroll"))
    page.get_by_role("link", name="Edit this page").click()
    page.wait_for_url(live_server("/teams/payroll/edit"))

    page.get_by_label("Monday, interval 1: opens at").fill("08:30")
    saturday = page.locator("#f-hours-weekly-sat")
    saturday.get_by_role("button", name="+ Add hours").click()  # a new row, added by the page script
    saturday.get_by_label("Saturday, interval 1: opens at").fill("10:00")
    saturday.get_by_label("Saturday, interval 1: closes at").fill("12:00")
    page.get_by_role("button", name="Save changes").first.click()

    page.wait_for_url(live_server("/teams/payroll"))
    expect_text(page.locator(".notice--success"), "Saved")
    grid_rows = page.locator("#hours-grid tbody tr")
    expect_open(grid_rows.nth(0), "08:30–12:30")  # Monday, unless a holiday or closure shuts it this week
    expect_open(grid_rows.nth(5), "10:00–12:00")  # Saturday
    after = stored(live_server, "payroll")
    assert after["version"] == before["version"] + 1
    assert after["hours"]["weekly"]["sat"] == [["10:00", "12:00"]]

    page.get_by_role("link", name="History of changes").click()
    expect_text(page.locator("#diff"), f"Changes from version {before['version']} to version {after['version']}")
    expect_text(page.locator(".diff__line--add").first, "08:30")
    page.get_by_role("button", name=f"Restore version {before['version']}").click()
    expect_text(page.locator(".notice--success"), f"Restored version {before['version']}")
    restored = stored(live_server, "payroll")
    assert restored["hours"] == before["hours"] and restored["version"] == after["version"] + 1
    page.goto(live_server("/teams/payroll"))
    expect_open(page.locator("#hours-grid tbody tr").nth(0), "09:00–12:30")


def test_second_context_stale_save_is_refused(new_context: Any, live_server: Any, log_in: Any) -> None:
    first, second = new_context().new_page(), new_context().new_page()
    log_in(first, OWNER)
    log_in(second, ADMIN)
    for tab in (first, second):
        tab.goto(live_server("/teams/expenses-travel/edit"))
    first.get_by_label("Summary").fill("Summary saved first")
    first.get_by_role("button", name="Save changes").first.click()
    first.wait_for_url(live_server("/teams/expenses-travel"))

    second.get_by_label("Summary").fill("Summary saved second")
    second.get_by_role("button", name="Save changes").first.click()
    conflict = second.locator("#conflict")
    expect_text(conflict, "Someone else changed this page while you were editing")
    expect_text(conflict, "Your changes have not been saved")
    expect_text(conflict, "Summary saved first")  # what the other person changed
    assert second.get_by_label("Summary").input_value() == "Summary saved second"  # what I typed, kept
    assert second.evaluate("document.activeElement.id") == "conflict"
    assert stored(live_server, "expenses-travel")["summary"] == "Summary saved first"


def test_owner_cannot_edit_another_team(page: Any, live_server: Any, log_in: Any) -> None:
    log_in(page, OWNER)
    page.goto(live_server("/teams/it-service-desk"))
    assert page.get_by_role("link", name="Edit this page").count() == 0
    response = page.goto(live_server("/teams/it-service-desk/edit"))
    assert response.status == 403
    expect_text(page.locator("h1"), "You may not do that")


def test_xss_in_a_description_does_not_run(page: Any, live_server: Any, log_in: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, OWNER)
    page.goto(live_server("/teams/tax/edit"))
    payload = (
        "Tax help.\n\n<script>window.__xss = 'script'; alert('script')</script>\n\n"
        "<img src=x id=\"injected-img\" onerror=\"window.__xss = 'img'; alert('img')\">\n\n"
        "[click me](javascript:alert('link')) <a id=\"injected-link\" href=\"javascript:alert('a')\">a</a>\n\n"
        "<iframe id=\"injected-frame\" src=\"javascript:alert('frame')\"></iframe>"
    )
    page.get_by_label("Description").fill(payload)
    page.get_by_role("button", name="Save changes").first.click()
    page.wait_for_url(live_server("/teams/tax"))
    page.wait_for_load_state("networkidle")
    about = page.locator("section.prose")
    expect_text(about, "Tax help.")
    assert about.locator("script, img, iframe, #injected-img, #injected-frame").count() == 0
    assert page.evaluate("window.__xss") is None
    for link in about.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
    if about.locator("#injected-link").count():
        about.locator("#injected-link").click()
    page.wait_for_timeout(300)
    assert dialogs == []


def test_keyboard_only_search_and_navigation(page: Any, live_server: Any) -> None:
    page.goto(live_server("/"))
    # The search box has focus on arrival; suggestions appear as you type.
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("payr", delay=30)
    listbox = page.get_by_role("listbox", name="Suggested teams")
    expect_text(listbox, "Payroll")
    page.keyboard.press("ArrowDown")
    assert page.locator("#q").get_attribute("aria-activedescendant") == "q-opt-0"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/teams/"))

    # The first Tab reaches the skip link; Enter moves to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Header search by keyboard, then Tab to the first result and open it.
    page.locator("#header-q").focus()
    page.keyboard.type("expenses")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=expenses"))
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.result__name') !== null"):
            break
    else:
        pytest.fail("Tab never reached a search result")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/teams/"))
    expect_text(page.locator("h1"), ".")


def test_phone_width_has_no_horizontal_scroll(new_context: Any, live_server: Any) -> None:
    page = new_context(viewport={"width": 375, "height": 740}).new_page()
    for path in ("/", "/search?q=payroll", "/teams/payroll", "/teams", "/departments"):
        page.goto(live_server(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)


def test_api_docs_render_from_local_assets(page: Any, live_server: Any) -> None:
    external: list[str] = []
    page.on("request", lambda request: external.append(request.url)
            if not request.url.startswith((live_server.url, "data:", "blob:")) else None)
    page.goto(live_server("/api/v1/docs"))
    page.wait_for_selector(".swagger-ui .info .title")
    expect_text(page.locator(".swagger-ui .info .title"), "The directory")
    page.goto(live_server("/api/v1/redoc"))
    page.wait_for_selector("#redoc h1")
    expect_text(page.locator("#redoc h1").first, "The directory")
    assert external == []


def test_review_date_warning_and_one_click_review(page: Any, live_server: Any, log_in: Any) -> None:
    live_server.patch_team("treasury", {"last_reviewed": "2025-01-15"})
    log_in(page, OWNER)
    page.goto(live_server("/teams/treasury"))
    expect_text(page.locator("#last-reviewed"), "more than six months ago")
    page.get_by_role("button", name="Mark as reviewed").click()
    expect_text(page.locator(".notice--success"), "marked as reviewed today")
    assert date.fromisoformat(stored(live_server, "treasury")["last_reviewed"]) >= date.today() - timedelta(days=1)
    expect_text(page.locator("#last-reviewed"), "Last reviewed on")
