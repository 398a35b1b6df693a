"""A researcher builds, previews and publishes a poll in Chromium; a respondent answers it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE
from tests.browser.test_form_browser import assert_accessible, in_question, stored

pytestmark = pytest.mark.browser

# (page, type, code, text): every question type of the public form, over three pages.
QUESTIONS = [
    (0, "age", "leeftijd", "Hoe oud ben je?"),
    (0, "municipality", "gemeente", "In welke gemeente woon je?"),
    (0, "single_choice", "keuze", "Wat doe je het liefst?"),
    (0, "multiple_choice", "meer", "Wat nog meer?"),
    (1, "yes_no", "janee", "Ga je op vakantie?"),
    (1, "agree_scale", "eens", "Er is genoeg te doen."),
    (1, "grade", "cijfer", "Welk cijfer geef je de zomer?"),
    (1, "number", "getal", "Hoeveel dagen?"),
    (2, "short_text", "kort", "Je favoriete plek?"),
    (2, "long_text", "waarheen", "Waar ga je heen?"),
    (2, "volunteer", "helpen", "Wil je helpen organiseren?"),
]


def add_question(page: Page, index: int, qtype: str, code: str, text: str) -> None:
    form = page.locator("form.add-question").nth(index)
    form.locator("select[name=type]").select_option(qtype)
    form.locator("input[name=code]").fill(code)
    form.locator("input[name=text]").fill(text)
    form.get_by_role("button", name="Vraag toevoegen").click()
    expect(page.get_by_role("heading", name=f"Vraag ‘{code}’")).to_be_visible()


def editor(page: Page, base: str) -> None:
    page.goto(f"{base}/ontwerp/zomer-test")


def test_researcher_builds_previews_publishes_and_a_respondent_answers(  # type: ignore[no-untyped-def]
    app, accounts, live_server, browser, staff_page
) -> None:
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/ontwerp/")
    assert_accessible(page)
    page.get_by_role("link", name="Nieuwe vragenlijst").click()
    assert_accessible(page)
    page.get_by_label("Leeg: één pagina met één vraag").check()
    page.get_by_label("Titel").fill("Zomer test")
    page.get_by_label("Adres: /p/…").fill("zomer-test")
    page.get_by_role("button", name="Maken als concept").click()
    expect(page.get_by_role("heading", name="Zomer test")).to_be_visible()
    assert_accessible(page)

    for _ in range(2):
        page.get_by_role("button", name="Pagina toevoegen").click()
    for index, qtype, code, text in QUESTIONS:
        editor(page, live_server)
        add_question(page, index, qtype, code, text)
    assert_accessible(page)  # the question form
    # The placeholders of the blank start and the two new pages go.
    editor(page, live_server)
    for code in ("vraag_1", "vraag_2", "vraag_3"):
        in_question(page, code).get_by_role("button", name=f"Verwijderen {code}").click()
    # Options for the choice questions, and a condition: where to only with a holiday.
    page.goto(f"{live_server}/ontwerp/zomer-test/vraag/keuze")
    page.get_by_label("Eén per regel").fill("sport = Sporten\nchillen = Chillen\nmuziek = Muziek")
    page.get_by_role("button", name="Vraag bewaren").click()
    page.goto(f"{live_server}/ontwerp/zomer-test/vraag/waarheen")
    page.get_by_label("een eerdere vraag").select_option("janee")
    page.get_by_label("de antwoordcodes").fill("misschien")  # refused: told beside the field
    page.get_by_role("button", name="Vraag bewaren").click()
    expect(page.get_by_label("de antwoordcodes")).to_have_accessible_description(
        "Fout: vraag 'janee' heeft geen antwoord 'misschien'"
    )
    assert_accessible(page)  # the refused question form
    page.get_by_label("de antwoordcodes").fill("ja")
    page.get_by_role("button", name="Vraag bewaren").click()
    expect(page.get_by_text("Vraag ‘waarheen’ is bewaard.")).to_be_visible()

    page.get_by_role("link", name="Voorbeeld").click()
    expect(page.get_by_role("heading", name="Voorbeeld")).to_be_visible()
    expect(page.get_by_label("Hoe oud ben je?")).to_be_visible()
    page.goto(f"{live_server}/ontwerp/")
    page.get_by_role("button", name="Publiceren Zomer test").click()
    expect(page.get_by_text("‘Zomer test’ is open.")).to_be_visible()
    page.goto(f"{live_server}/ontwerp/zomer-test/delen?bron=school-12")
    assert_accessible(page)

    phone = browser.new_context(locale="nl-NL", viewport=PHONE, is_mobile=True, has_touch=True)
    phone.set_default_timeout(10_000)
    answer = phone.new_page()
    answer.goto(f"{live_server}/p/zomer-test")
    answer.get_by_label("Hoe oud ben je?").fill("15")
    answer.get_by_label("In welke gemeente woon je?").select_option(label="Tynaarlo")
    in_question(answer, "keuze").get_by_label("Chillen").check()
    in_question(answer, "meer").get_by_label("Antwoord B").check()
    answer.get_by_role("button", name="Volgende").click()
    in_question(answer, "janee").get_by_label("Ja", exact=True).check()
    in_question(answer, "eens").get_by_label("Eens", exact=True).check()
    in_question(answer, "cijfer").get_by_label("8", exact=True).check()
    answer.get_by_label("Hoeveel dagen?").fill("12")
    answer.get_by_role("button", name="Volgende").click()
    waarheen = answer.get_by_label("Waar ga je heen?")
    expect(waarheen).to_be_visible()  # shown: the holiday answer was "ja"
    waarheen.fill("Naar de Waddeneilanden")
    answer.get_by_label("Je favoriete plek?").fill("Het strand")
    in_question(answer, "helpen").get_by_label("Nee", exact=True).check()
    answer.get_by_role("button", name="Versturen").click()
    expect(answer.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    phone.close()

    result = stored(app)
    assert result["municipality"] == "GM1730" and result["age"] == 15
    assert result["answers"] == {
        "leeftijd": [15.0],
        "gemeente": ["GM1730"],
        "keuze": ["chillen"],
        "meer": ["b"],
        "janee": ["ja"],
        "eens": ["4"],
        "cijfer": [8.0],
        "getal": [12.0],
        "kort": ["Het strand"],
        "waarheen": ["Naar de Waddeneilanden"],
        "helpen": ["nee"],
    }


def test_staff_pages_are_accessible(accounts, live_server, browser, staff_page, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["demo", "--responses", "60", "--seed", "2"]).exit_code == 0
    login = browser.new_page(locale="nl-NL")
    login.goto(f"{live_server}/login")
    assert_accessible(login)
    login.close()
    page = staff_page(accounts["admin"])
    for path in (
        "/analysis/",
        "/analysis/jongerenpeiling-demo/",
        "/analysis/jongerenpeiling-demo/?leeftijd=12-15",
        "/analysis/jongerenpeiling-demo/open",
        "/beheer/gebruikers",
        "/beheer/logboek",
        "/account/wachtwoord",
    ):
        page.goto(live_server + path)
        expect(page.locator("h1")).to_be_visible()
        assert_accessible(page)
    researcher = staff_page(accounts["researcher"])  # may see volunteers' contact details
    researcher.goto(f"{live_server}/analysis/jongerenpeiling-demo/vrijwilligers")
    expect(researcher.locator("h1")).to_have_text("Vrijwilligers")
    assert_accessible(researcher)
    researcher.goto(f"{live_server}/analysis/jongerenpeiling-demo/weging")
    expect(researcher.locator("h1")).to_have_text("Weging")
    assert_accessible(researcher)


def test_an_edit_pressed_after_the_cookie_expired_is_saved_after_logging_in_again(  # type: ignore[no-untyped-def]
    app, accounts, live_server, staff_page, make_survey
) -> None:
    """Chromium drops the expired session cookie overnight; in the morning the researcher
    finishes her question and presses save: a login page, then one press saves it."""
    from tests.auth.fixtures import PASSWORD
    from tests.designer.test_designer_pages import definition

    make_survey(slug="ochtend", status="draft")
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/ontwerp/ochtend/vraag/vraag")
    page.context.clear_cookies()
    text = 'Wat wil je deze zomer "echt" doen?\nDenk aan <sport> & muziek.'
    page.get_by_label("Vraag", exact=True).fill(text)
    page.get_by_label("Uitleg onder de vraag (mag leeg)").fill("Kies er één.")
    page.get_by_role("button", name="Vraag bewaren").click()

    expect(page.get_by_role("heading", name="Inloggen voor medewerkers")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Je sessie is verlopen")
    assert_accessible(page)
    page.fill("#email", accounts["researcher"])
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Inloggen").click()

    expect(page.get_by_role("heading", name="Je bent weer ingelogd")).to_be_visible()
    assert_accessible(page)
    assert definition(app, "ochtend")["pages"][0]["questions"][0]["text"] == "Iets?"
    page.get_by_role("button", name="Opslaan wat ik invulde").click()

    expect(page.get_by_text("Vraag ‘vraag’ is bewaard.")).to_be_visible()
    question = definition(app, "ochtend")["pages"][0]["questions"][0]
    # The browser posts a textarea's line break as CRLF; the designer keeps it as typed.
    assert question["text"].replace("\r\n", "\n") == text
    assert question["help"] == "Kies er één."


def test_refused_settings_come_back_as_typed_and_accessible(  # type: ignore[no-untyped-def]
    app, accounts, live_server, staff_page, make_survey
) -> None:
    from tests.designer.test_designer_pages import definition

    make_survey(slug="instellen", status="draft")
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/ontwerp/instellen")
    privacy = "We bewaren je antwoorden één jaar.\nDaarna wissen we ze."
    page.get_by_label("Privacyverklaring").fill(privacy)
    page.get_by_label("Leeftijd vanaf").fill("twaalf")
    page.get_by_role("button", name="Instellingen bewaren").click()

    expect(page.get_by_role("alert")).to_contain_text("Leeftijd vanaf: moet een getal zijn")
    age = page.get_by_label("Leeftijd vanaf")
    expect(age).to_have_accessible_description("Fout: moet een getal zijn")
    page.get_by_role("link", name="Leeftijd vanaf: moet een getal zijn").click()
    expect(age).to_be_focused()
    expect(page.get_by_label("Privacyverklaring")).to_have_value(privacy)
    expect(page.get_by_label("Leeftijd vanaf")).to_have_value("twaalf")
    assert_accessible(page)
    assert not definition(app, "instellen").get("privacy_statement")
    page.get_by_label("Leeftijd vanaf").fill("12")
    page.get_by_role("button", name="Instellingen bewaren").click()
    expect(page.get_by_text("De instellingen zijn bewaard.")).to_be_visible()
    assert definition(app, "instellen")["privacy_statement"].replace("\r\n", "\n") == privacy


def test_a_refused_copy_is_marked_at_its_field_and_accessible(  # type: ignore[no-untyped-def]
    app, accounts, live_server, staff_page, make_survey
) -> None:
    original = make_survey(slug="zomer-bron", status="draft", title="Zomer bron")
    make_survey(slug="zomer-bezet", status="draft")
    page = staff_page(accounts["researcher"])
    page.goto(f"{live_server}/ontwerp/")
    field = page.locator(f"#kopie-{original.id}")
    field.fill("zomer-bezet")
    page.get_by_role("button", name="Kopiëren Zomer bron").click()
    expect(field).to_have_value("zomer-bezet")
    expect(field).to_have_accessible_description(
        "Fout: is al in gebruik door een andere vragenlijst"
    )
    page.get_by_role("link", name="Nieuwe slug voor een kopie van ‘Zomer bron’").click()
    expect(field).to_be_focused()
    assert_accessible(page)
