"""What a person sees: typed text that can be read, pages that fit a phone, buttons that are on
screen, and an error summary whose links take the keyboard to the field. Screenshots of each go to
tests/artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ADMIN = "admin@example.com"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
HISTORY_TEAM = "commercial-contracts"  # no other browser test changes it

# WCAG 2.x contrast of an element's text against what is painted behind it. Backgrounds are
# composited from the element outwards until an opaque one (the canvas is white); a background
# image (a gradient) behind the text cannot be measured, so it is reported instead of guessed.
CONTRAST_JS = """
([el, pseudo]) => {
  const parse = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3]));
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const style = getComputedStyle(node);
    const bg = parse(style.backgroundColor);
    if (bg && bg[3] > 0) layers.push(bg);
    if (bg && bg[3] >= 1) break;
    if (style.backgroundImage !== "none") return {error: "text over a background image: " + node.className};
  }
  let behind = [255, 255, 255];
  for (const layer of layers.reverse()) behind = over(layer, behind);
  const text = over(parse(getComputedStyle(el, pseudo).color), behind);
  const lum = (rgb) => {
    const c = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const [a, b] = [lum(text), lum(behind)].sort((x, y) => y - x);
  return {ratio: (a + 0.05) / (b + 0.05), text: text.map(Math.round), behind: behind.map(Math.round)};
}
"""


def contrast(locator: Any, pseudo: str | None = None) -> dict[str, Any]:
    result = locator.evaluate(f"(el) => ({CONTRAST_JS})([el, {pseudo!r}])".replace("None", "null"))
    assert "error" not in result, result
    return result


def overflow(page: Any) -> int:
    """How many pixels the page scrolls sideways (0 when it fits the viewport)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"))


def wide_elements(page: Any) -> list[str]:
    """The elements sticking out past the right edge: what to fix when a page scrolls sideways."""
    return page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(el => el.getBoundingClientRect().right + window.scrollX > document.documentElement.clientWidth + 1)
        .slice(0, 8).map(el => el.tagName.toLowerCase() + '.' + [...el.classList].join('.'))""")


def on_screen(page: Any, locator: Any) -> dict[str, Any]:
    """Scroll the page (only the page, and only down) to the element, then say whether all of it is
    inside the viewport and not clipped by a scrolling or hidden-overflow box around it."""
    return locator.evaluate("""(el) => {
        window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 100);
        const r = el.getBoundingClientRect();
        const width = document.documentElement.clientWidth;
        const clipped = [];
        for (let box = el.parentElement; box; box = box.parentElement) {
            if (getComputedStyle(box).overflowX === 'visible') continue;
            const b = box.getBoundingClientRect();
            if (r.left < b.left - 1 || r.right > b.right + 1) clipped.push(box.className);
        }
        return {inside: r.width > 0 && r.left >= 0 && r.right <= width, clipped,
                left: r.left, right: r.right, width};
    }""")


@pytest.fixture(scope="module")
def history_team(live_server: Any) -> str:
    """A team with a second version, so its history has an earlier one to restore."""
    live_server.patch_team(HISTORY_TEAM, {"summary": "Contracts with customers and suppliers, reviewed."})
    return HISTORY_TEAM


@pytest.mark.parametrize(("path", "boxes"), [
    ("/", ["#q"]),
    ("/search?q=payroll", ["#q"]),
    ("/teams/payroll", ["#header-q"]),
    ("/no-such-page", ["#header-q", "#error-q"]),
])
def test_typed_search_text_is_readable(new_context: Any, live_server: Any, shoot: Any, watched: Any,
                                       path: str, boxes: list[str]) -> None:
    """Every search box on the page shows what is typed (and its placeholder) at 4.5:1 or more."""
    page = new_context().new_page()
    problems = watched(page)
    page.goto(live_server(path))
    found = page.locator("input[type=search]")
    assert sorted(found.evaluate_all("els => els.map(el => '#' + el.id)")) == sorted(boxes)
    for selector in boxes:
        box = page.locator(selector)
        if box.get_attribute("placeholder"):
            box.fill("")
            seen = contrast(box, "::placeholder")
            assert seen["ratio"] >= 4.5, (path, selector, "placeholder", seen)
        box.fill("laptop wont start")
        seen = contrast(box)
        assert seen["ratio"] >= 4.5, (path, selector, seen)
    if path == "/":
        shoot(page, "home-typed-search.png")
    assert not problems, problems  # no JavaScript error, no CSP violation


def test_the_contrast_check_can_tell_white_on_white(page: Any, live_server: Any) -> None:
    """The measuring stick itself: invisible text scores 1:1, ink on white about 15:1."""
    page.goto(live_server("/teams"))
    page.evaluate("""() => {
        const box = document.createElement('input');
        box.id = 'probe';
        box.className = 'probe';
        document.querySelector('main').append(box);
    }""")
    probe = page.locator("#probe")
    probe.evaluate("el => { el.style.color = '#fff'; el.style.background = 'transparent'; }")
    assert contrast(probe)["ratio"] < 1.1  # white over the page's near-white
    probe.evaluate("el => { el.style.color = '#1c2430'; el.style.background = 'rgba(255, 255, 255, 0)'; }")
    assert contrast(probe)["ratio"] > 14


def test_no_page_scrolls_sideways_on_a_phone(new_context: Any, live_server: Any, log_in: Any,
                                             history_team: str, shoot: Any, watched: Any) -> None:
    """At 390 px: home, results, a team seen from another zone (with "your time"), history, editor."""
    page = new_context(viewport=PHONE, timezone_id="Asia/Kolkata").new_page()
    problems = watched(page)
    pages = [("/", "phone-home.png"), ("/search?q=payroll", "phone-results.png")]
    for team in ("payroll", "it-out-of-hours", "workplace-sydney"):
        pages.append((f"/teams/{team}", f"phone-team-{team}.png"))
    for path, name in pages:
        page.goto(live_server(path))
        if path.startswith("/teams/"):
            page.wait_for_selector("th.reader-col")  # after the one reload that learns the reader's zone
        shoot(page, name)
        assert overflow(page) <= 0, (path, overflow(page), wide_elements(page))

    log_in(page, ADMIN)
    for path, name in [(f"/teams/{history_team}/history?from=1&to=2", "phone-history.png"),
                       (f"/teams/{history_team}/edit", "phone-editor.png")]:
        page.goto(live_server(path))
        shoot(page, name)
        assert overflow(page) <= 0, (path, overflow(page), wide_elements(page))
    assert not problems, problems  # no JavaScript error, no CSP violation


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1024, "height": 768}, DESKTOP],
                         ids=["phone", "tablet", "desktop"])
def test_restore_button_is_on_screen(new_context: Any, live_server: Any, log_in: Any, history_team: str,
                                     shoot: Any, watched: Any, viewport: dict[str, int]) -> None:
    """Stacked in a narrow card (a phone, or beside the diff at 1280 px), a table when there is room."""
    page = new_context(viewport=viewport).new_page()
    problems = watched(page)
    log_in(page, ADMIN)
    page.goto(live_server(f"/teams/{history_team}/history"))
    restore = page.get_by_role("button", name=re.compile(r"^Restore version 1$"))
    seen = on_screen(page, restore)
    assert seen["inside"] and not seen["clipped"], seen
    assert overflow(page) <= 0, wide_elements(page)
    shoot(page, f"history-{viewport['width']}.png")
    assert not problems, problems  # no JavaScript error, no CSP violation


def test_error_summary_links_move_focus_to_their_fields(new_context: Any, live_server: Any, log_in: Any,
                                                        history_team: str, shoot: Any, watched: Any) -> None:
    page = new_context().new_page()
    problems = watched(page)
    log_in(page, ADMIN)
    page.goto(live_server(f"/teams/{history_team}/edit"))
    page.get_by_label("Team name").fill("")
    page.get_by_label("Monday, interval 1: closes at").fill("25:00")
    page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
    page.get_by_role("button", name="Save changes").first.click()

    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    links = summary.get_by_role("link")
    assert links.count() >= 3, summary.inner_text()
    shoot(page, "editor-error-summary.png")
    expected = {"Name": "f-name", "Time zone": "f-timezone", "Opening hours, Monday": "f-hours-weekly-mon-0-start"}
    reached: dict[str, str] = {}
    for index in range(links.count()):
        link = links.nth(index)
        text, named = link.inner_text(), link.get_attribute("href").removeprefix("#")
        link.click()
        focused = page.evaluate("""(named) => {
            const el = document.activeElement;
            const group = document.getElementById(named);
            const r = el.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            const label = el.id && document.querySelector(`label[for="${el.id}"]`);
            const shown = label && !label.classList.contains('visually-hidden') ? label : el;
            return {id: el.id, tag: el.tagName.toLowerCase(), named: !!group && group.contains(el),
                    uncovered: hit === el || el.contains(hit),
                    labelTop: shown.getBoundingClientRect().top,
                    barBottom: document.querySelector('.editor-bar').getBoundingClientRect().bottom};
        }""", named)
        assert focused["tag"] in {"input", "select", "textarea"} and focused["named"], (text, named, focused)
        assert focused["uncovered"], (text, focused)  # in view, not under the sticky bar
        assert focused["labelTop"] >= focused["barBottom"] - 1, (text, focused)
        reached.update({start: focused["id"] for start in expected if text.startswith(start)})
        if text.startswith("Opening hours"):
            shoot(page, "editor-error-link-focus.png", full_page=False)  # what the person sees after the click
    assert reached == expected
    assert not problems, problems  # no JavaScript error, no CSP violation
