"""axe-core on every staff page there is a link to, in Chromium: the pages the crawl in
tests/test_links.py reaches as a researcher and as an admin, over the same data."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.test_form_browser import assert_accessible
from tests.test_links import crawl, world

pytestmark = pytest.mark.browser
__all__ = ["world"]  # the fixture, used below

STARTS = ["/", "/analysis/", "/ontwerp/", "/panel/", "/beheer/gebruikers"]


@pytest.mark.parametrize("account", ["researcher", "admin"])
def test_every_staff_page_passes_axe(accounts, logged_in, world, staff_page, live_server,
                                     account) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    found = crawl(logged_in(account), STARTS)
    pages: dict[str, str] = {}  # one of each path: a query only filters what is shown
    for url, what in found.items():
        path = urlsplit(url).path
        if what.html and what.status == 200 and not what.redirected and path not in pages:
            pages[path] = url
    assert len(pages) > (30 if account == "researcher" else 5), sorted(pages)
    page = staff_page(accounts[account])
    for url in sorted(pages.values()):
        page.goto(live_server + url)
        assert urlsplit(page.url).path == urlsplit(url).path, (url, page.url)
        try:
            assert_accessible(page)
        except AssertionError as failed:
            raise AssertionError(f"{url}: {failed}") from None
