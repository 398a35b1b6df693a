"""The guardian's permission in the volunteer block and the removal page, in a real
Chromium at phone size, with and without JavaScript, checked with axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_form_browser import about_you, assert_accessible, in_question
from tests.conftest import count_rows

pytestmark = pytest.mark.browser

PERMISSION = "Mijn ouder of verzorger vindt het goed dat ik mijn naam en contactgegevens achterlaat"


def assert_accessible_without_js(browser: Browser, live_server: str, page: Page) -> None:
    """axe-core needs JavaScript, which `page` has off: check its HTML, with the stylesheet
    but without the form's script, in a page of its own."""
    html = page.content().replace("<head>", f'<head><base href="{live_server}/">', 1)
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    try:
        copy = context.new_page()
        copy.route("**/form.js*", lambda route: route.abort())
        copy.set_content(html)
        assert copy.locator("html.js").count() == 0  # as served, without the script
        assert_accessible(copy)
    finally:
        context.close()


def second_page(page: Page) -> None:
    in_question(page, "genoeg_te_doen").get_by_label("Ja, genoeg").check()
    in_question(page, "organiseren").get_by_label("Nee", exact=True).check()
    in_question(page, "cijfer").get_by_label("8", exact=True).check()
    page.get_by_role("button", name="Volgende").click()
    expect(page.get_by_role("heading", name="Tot slot")).to_be_visible()


def leave_details(page: Page) -> None:
    volunteer = in_question(page, "helpen")
    volunteer.get_by_label("Ja", exact=True).check()
    volunteer.get_by_label("Je naam").fill("Noor Jansen")
    volunteer.get_by_label("Je e-mailadres").fill("noor@example.nl")


def code_on_thanks(page: Page) -> str:
    expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    expect(page.get_by_role("heading", name="Je verwijdercode")).to_be_visible()
    return page.locator(".removal-code .code").inner_text().strip()


def remove_with(page: Page, typed: str) -> None:
    page.get_by_label("Je verwijdercode").fill(typed)
    page.get_by_role("button", name="Verwijder mijn antwoorden").click()


def test_permission_then_removal_with_javascript(app, demo_survey, live_server, phone) -> None:  # type: ignore[no-untyped-def]
    page = phone
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    about_you(page, "14", "Emmen")
    second_page(page)
    leave_details(page)
    checkbox = page.get_by_label(PERMISSION)
    expect(checkbox).to_be_visible()
    expect(page.get_by_text("versleuteld, zodat anderen ze niet kunnen lezen")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Versturen").click()

    # Without the permission: an error next to the box, every answer kept.
    expect(page.get_by_role("heading", name="Er is nog 1 probleem")).to_be_visible()
    expect(page.locator("#q_helpen__toestemming-fout")).to_contain_text("Vraag je ouder")
    expect(in_question(page, "helpen").get_by_label("Je naam")).to_have_value("Noor Jansen")
    expect(page.locator("#foutmeldingen")).to_be_focused()
    assert_accessible(page)
    assert count_rows(app, "response") == 0
    page.locator("#foutmeldingen a").click()
    page.get_by_label(PERMISSION).check()
    page.get_by_role("button", name="Versturen").click()

    code = code_on_thanks(page)
    assert len(code) == 14 and code.count("-") == 2
    assert code.replace("-", "") not in page.url
    assert_accessible(page)
    page.reload()  # a refresh shows the same code
    assert code_on_thanks(page) == code

    page.get_by_role("link", name="Je antwoorden laten verwijderen").click()
    expect(page.get_by_role("heading", name="Je antwoorden laten verwijderen")).to_be_visible()
    assert_accessible(page)
    remove_with(page, "0000-0000-0000")
    expect(page.get_by_role("heading", name="Er is nog 1 probleem")).to_be_visible()
    expect(page.get_by_label("Je verwijdercode")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    assert count_rows(app, "response") == 1
    remove_with(page, code.lower().replace("-", " "))
    expect(page.get_by_role("heading", name="Je antwoorden zijn verwijderd")).to_be_visible()
    assert_accessible(page)
    assert (count_rows(app, "response"), count_rows(app, "volunteer")) == (0, 0)


def test_permission_shows_live_with_the_age_on_the_same_page(
    app, make_survey, live_server, phone
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=[{"questions": [
        {"code": "leeftijd", "type": "age", "text": "Hoe oud ben je?", "required": True},
        {"code": "helpen", "type": "volunteer", "text": "Wil je helpen?"}]}])  # fmt: skip
    page = phone
    page.goto(f"{live_server}/p/{survey.slug}")
    page.get_by_label("Hoe oud ben je?").fill("18")
    leave_details(page)
    checkbox = page.get_by_label(PERMISSION)
    expect(checkbox).to_be_hidden()
    page.get_by_label("Hoe oud ben je?").fill("13")
    expect(checkbox).to_be_visible()
    expect(page.get_by_text("Alleen als je jonger bent dan 16 jaar.")).to_be_hidden()  # for no-JS
    assert_accessible(page)
    checkbox.check()
    page.get_by_role("button", name="Versturen").click()
    code_on_thanks(page)
    assert count_rows(app, "volunteer") == 1


def test_permission_then_removal_without_javascript(
    app, demo_survey, live_server, phone_without_js, browser
) -> None:  # type: ignore[no-untyped-def]
    page = phone_without_js
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    about_you(page, "15", "Assen")
    second_page(page)
    leave_details(page)
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("heading", name="Er is nog 1 probleem")).to_be_visible()
    expect(in_question(page, "helpen").get_by_label("Je naam")).to_have_value("Noor Jansen")
    assert_accessible_without_js(browser, live_server, page)
    page.get_by_label(PERMISSION).check()
    page.get_by_role("button", name="Versturen").click()
    code = code_on_thanks(page)
    assert_accessible_without_js(browser, live_server, page)
    page.get_by_role("link", name="Je antwoorden laten verwijderen").click()
    remove_with(page, "abc")
    expect(page.get_by_text("Een verwijdercode heeft 12 letters en cijfers").first).to_be_visible()
    assert_accessible_without_js(browser, live_server, page)
    remove_with(page, code)
    expect(page.get_by_role("heading", name="Je antwoorden zijn verwijderd")).to_be_visible()
    assert (count_rows(app, "response"), count_rows(app, "answer")) == (0, 0)
