"""Real-browser tests: Debian's chromium driven by Playwright (never `playwright install`).

They skip, saying why, only when no chromium binary or no playwright package is found. Set HONED_SCREENSHOTS=DIR to
save a PNG of each page visited (docs/screenshots is made this way).
"""
from __future__ import annotations

import shutil

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium found: install it with `apt-get install -y chromium` (the Makefile's browser "
                    "target does) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 820})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()
