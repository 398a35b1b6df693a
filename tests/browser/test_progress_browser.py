"""Pages that follow slow work (a wave's mail, a large workbook) keep their progress up to
date in place, in Chromium: no timed reload that moves a screen reader back to the top
(WCAG 2.2.1), the reader's focus and place stay, and the news is in a status region."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.analysis.test_dashboard import short_form, store
from tests.browser.test_form_browser import assert_accessible
from tests.test_jobs import PEOPLE, add_members, redis_jobs, run_worker

pytestmark = pytest.mark.browser
__all__ = ["redis_jobs"]  # the fixture, used below


def mark_the_page(page: Page) -> None:
    """A value that a reload would lose."""
    page.evaluate("window.notReloaded = true")


def still_the_same_page(page: Page) -> bool:
    return bool(page.evaluate("window.notReloaded === true"))


def test_a_waves_mail_progress_updates_in_place(  # type: ignore[no-untyped-def]
    app, accounts, inbox, panel, make_survey, staff_page, live_server, redis_jobs
) -> None:
    survey = make_survey(slug="golf", kind="panel", region="groningen")
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/panel/{panel.slug}/golven/{add_members(app, panel, survey)}")
    page.get_by_role("button", name="Uitnodigingen versturen").click()
    status = page.locator("#verzending[role=status]")
    expect(status).to_contain_text("Er worden e-mails verstuurd.")
    assert_accessible(page)  # axe's meta-refresh rule failed here before
    mark_the_page(page)
    back = page.get_by_role("link", name="Klassenlinks", exact=False)
    back.focus()

    run_worker(app)  # the queued batch goes out now, from another process
    assert sorted(m["To"] for m in inbox.messages) == PEOPLE
    expect(status).to_contain_text("Er staan geen e-mails meer in de wachtrij.", timeout=15_000)
    row = page.locator("#mailstand tr").filter(has_text="Uitnodigingen").locator("td")
    expect(row).to_have_text(["0", "3", "0"])
    assert still_the_same_page(page)
    assert page.evaluate("document.activeElement.textContent").startswith("Klassenlinks")
    assert_accessible(page)


def test_a_workbooks_progress_ends_in_its_download_link_in_place(  # type: ignore[no-untyped-def]
    app, accounts, demo_survey, staff_page, live_server, redis_jobs
) -> None:
    store(app, demo_survey, [short_form("16", "GM0114")] * 3)
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/analysis/{demo_survey.slug}/")
    page.get_by_role("button", name="Grote werkmap op de achtergrond maken", exact=False).click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("wacht op een vrije verwerker")
    assert_accessible(page)
    mark_the_page(page)

    run_worker(app)
    expect(status).to_contain_text("De werkmap is klaar.", timeout=15_000)
    expect(status.get_by_role("link", name="Download", exact=False)).to_be_visible()
    assert still_the_same_page(page)
    assert_accessible(page)
