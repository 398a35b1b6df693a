"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright, against the live server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("PEILING_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def _page(browser: Browser, **options) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="nl-NL", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized page with JavaScript, as most respondents have it."""
    yield from _page(browser, viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.fixture
def phone_without_js(browser: Browser) -> Iterator[Page]:
    yield from _page(
        browser, viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False
    )


@pytest.fixture
def staff_page(browser: Browser, live_server: str) -> Iterator[Callable[[str], Page]]:
    """A function that opens a desktop-sized page logged in as staff member `email`."""
    from tests.auth.fixtures import PASSWORD

    contexts = []

    def open_as(email: str) -> Page:
        context = browser.new_context(locale="nl-NL")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/analysis/")
        return page

    yield open_as
    for context in contexts:
        context.close()
