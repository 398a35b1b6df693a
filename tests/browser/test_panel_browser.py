"""The panel's public pages in real Chromium on a phone: sign up with a letter's code,
confirm from the mail, see one's own data; accessible (axe) and without sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_form_browser import assert_accessible, assert_no_horizontal_scroll
from tests.panel.fixtures import Inbox

pytestmark = pytest.mark.browser


def test_sign_up_confirm_and_own_data_on_a_phone(app, live_server, phone, inbox, codes) -> None:  # type: ignore[no-untyped-def]
    page: Page = phone
    page.goto(f"{live_server}/panel/groninger-panel/aanmelden")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    page.get_by_label("Code uit de brief").fill(codes[0].lower())
    page.get_by_label("E-mailadres").fill("geen-adres")
    page.get_by_label("Geboortejaar").fill("1984")
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("alert")).to_contain_text("geldig e-mailadres")
    assert_accessible(page)  # the page with its errors
    expect(page.get_by_label("Geboortejaar")).to_have_value("1984")  # nothing lost
    page.get_by_label("E-mailadres").fill("bram@example.nl")
    page.get_by_label("Opleiding").select_option(label="Mbo")
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kijk in je e-mail")
    (mail,) = inbox.to("bram@example.nl")
    confirm, data_url, _unsubscribe = (u.replace("http://localhost", live_server)
                                       for u in Inbox.links(mail))  # fmt: skip
    page.goto(confirm)
    page.get_by_role("button", name="Ja, ik doe mee").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Je doet mee!")
    assert_accessible(page)
    page.goto(data_url)
    expect(page.get_by_text("bram@example.nl")).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)


def test_panel_staff_pages_are_accessible(
    app, accounts, live_server, staff_page, panel, make_survey
) -> None:  # type: ignore[no-untyped-def]
    from tests.panel.fixtures import member_and_wave

    pages = [{"questions": [{"code": "stem", "type": "yes_no", "text": "Ga je stemmen?"}]}]
    survey = make_survey(pages=pages, slug="toegankelijk", kind="panel", region="groningen")
    wave_id = member_and_wave(app, panel, survey)
    page = staff_page(accounts["researcher"])
    base = f"{live_server}/panel/groninger-panel"
    for url in ("/panel/", "/panel/nieuw"):
        page.goto(live_server + url)
        assert_accessible(page)
    for url in ("/", "/importeren", "/golven", f"/golven/{wave_id}", f"/golven/{wave_id}/klassen"):
        page.goto(base + url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
    page.get_by_label("Scholen of klassen, één per regel").fill("Groep 8a\nGroep 8b")
    page.get_by_role("button", name="Links maken").click()
    expect(page.get_by_role("img", name="QR-code voor Groep 8b")).to_be_visible()
    assert_accessible(page)
    # A refused target among ten: marked at its field, which the summary's link reaches.
    page.goto(base + "/")
    page.get_by_text("Doelen per gemeente instellen").click()
    page.get_by_label("Veendam").first.fill("1O0")
    page.get_by_role("button", name="Opslaan").first.click()
    veendam = page.locator("#doel_GM0047")
    expect(veendam).to_have_accessible_description("Fout: vul een heel getal in (0 of meer)")
    page.get_by_role("link", name="Veendam: vul een heel getal in (0 of meer)").click()
    expect(veendam).to_be_focused()
    assert_accessible(page)
