"""The directory served as a newcomer starts it (`make run`, see tests/served.py), and Debian's
Chromium driven by Playwright.

The browser cannot be downloaded here, so the tests use /usr/bin/chromium; without it they are
skipped with a visible reason, except under CI (CI=true) where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import served

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")  # Debian's, unless told otherwise
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DEMO_PASSWORD = served.DEMO_PASSWORD


def _require_browser() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Chromium must be installed at {CHROMIUM} under CI (apt-get install chromium)")
    pytest.skip(f"browser tests need Chromium at {CHROMIUM}: install it with `apt-get install chromium` "
                "(or `make browser`)")


class LiveServer:
    """The served directory as the tests meet it: URLs, the `directory` command and the JSON API.

    Tests reach the data only as people and integrations do (pages, API, CLI), never through the
    app's own session, so what they check is what `make run` serves.
    """

    def __init__(self, directory: served.ServedDirectory) -> None:
        self.served = directory
        self.url = directory.url
        self._token: str | None = None

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def cli(self, *args: str) -> str:
        """Run `directory ARGS` against the served instance; its output, or a failed test."""
        result = self.served.cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def team(self, slug: str) -> tuple[dict[str, Any], str]:
        """The team's API document and its ETag."""
        with urllib.request.urlopen(self(f"/api/v1/teams/{slug}"), timeout=10) as answer:
            return json.load(answer), answer.headers["ETag"]

    def patch_team(self, slug: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a team through the API with a write token, as an integration would."""
        if self._token is None:
            self._token = self.cli("create-token", "--scope", "write").strip().splitlines()[-1]
        _, etag = self.team(slug)
        request = urllib.request.Request(
            self(f"/api/v1/teams/{slug}"), data=json.dumps(changes).encode(), method="PATCH",
            headers={"Authorization": f"Bearer {self._token}", "If-Match": etag,
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`make run` on a fresh, seeded instance and a free port, for the whole session."""
    _require_browser()
    directory = served.start(tmp_path_factory.mktemp("live"), workers=2,
                             extra_env={"DIRECTORY_DEMO_PASSWORD": DEMO_PASSWORD})
    try:
        yield LiveServer(directory)
    finally:
        served.stop(directory)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser: Any) -> Iterator[Callable[..., Any]]:
    """new_context(timezone_id=..., viewport=...): fresh browser contexts (separate cookies), closed after."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("timezone_id", "Europe/London")
        options.setdefault("locale", "en-GB")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    """A page that fails the test on any JavaScript error or CSP violation it reports."""
    tab = new_context().new_page()
    problems = watch(tab)
    yield tab
    assert not problems, problems


def watch(tab: Any) -> list[str]:
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    tab.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
           if message.type == "error" and "Content Security Policy" in message.text else None)
    return problems


def sign_in(tab: Any, live: LiveServer, email: str, password: str = DEMO_PASSWORD) -> None:
    tab.goto(live("/login"))
    tab.get_by_label("E-mail address").fill(email)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(live("/"))
    assert tab.locator(".site-nav__who").inner_text()


def screenshot(tab: Any, name: str, *, readme: bool = False, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    tab.screenshot(path=str(path), full_page=full_page)
    if readme and os.environ.get("UPDATE_README_SCREENSHOT"):  # tests leave tracked files alone
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        shutil.copyfile(path, docs / name)
    return path


@pytest.fixture
def log_in(live_server: LiveServer) -> Callable[..., None]:
    """log_in(tab, email): sign in through the page, as a person would."""
    return lambda tab, email, password=DEMO_PASSWORD: sign_in(tab, live_server, email, password)


@pytest.fixture
def shoot() -> Callable[..., Path]:
    """shoot(tab, "name.png", readme=False, full_page=True): a screenshot under tests/artifacts/."""
    return screenshot


@pytest.fixture
def watched() -> Callable[[Any], list[str]]:
    """watched(tab) -> the list that collects the tab's JavaScript errors and CSP violations."""
    return watch
