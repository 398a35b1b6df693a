"""The demo poll filled in by a real Chromium at phone size, with and without JavaScript."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from peiling import crypto
from peiling.extensions import db
from tests.conftest import count_rows

pytestmark = pytest.mark.browser


def stored(app) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The one stored response, its answers as {code: [option or value]} and its volunteer."""
    with app.app_context():
        response = db.session.execute(
            sa.text("SELECT id, municipality_code, age FROM response")
        ).one()
        rows = db.session.execute(
            sa.text(
                "SELECT q.code, o.code, a.value_number, a.value_text FROM answer a "
                "JOIN question q ON q.id = a.question_id "
                "LEFT JOIN question_option o ON o.id = a.option_id "
                "WHERE a.response_id = :r ORDER BY q.position, COALESCE(o.position, -1)"
            ),
            {"r": response.id},
        ).all()
        volunteer = db.session.execute(
            sa.text("SELECT name, email, phone, activities FROM volunteer")
        ).all()
        contacts = [tuple(crypto.decrypt(x) for x in v[:3]) for v in volunteer]  # encrypted
    answers: dict[str, list[object]] = {}
    for code, option, number, text in rows:
        value = option if option is not None else number if number is not None else text
        if option is not None and text is not None:
            value = (option, text)
        answers.setdefault(code, []).append(value)
    return {
        "municipality": response.municipality_code,
        "age": response.age,
        "answers": answers,
        "volunteers": [
            (*plain, json.loads(v[3]) if isinstance(v[3], str) else v[3])
            for v, plain in zip(volunteer, contacts, strict=True)
        ],
    }


def in_question(page: Page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#vraag-{code}")


def about_you(page: Page, age: str, municipality: str) -> None:
    """Answer the first page and go on to the next."""
    page.get_by_label("Hoe oud ben je?").fill(age)
    page.get_by_label("In welke gemeente woon je?").select_option(label=municipality)
    page.get_by_role("button", name="Volgende").click()


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px viewport"


def test_phone_with_javascript_fills_in_the_demo_poll(app, demo_survey, live_server, phone) -> None:  # type: ignore[no-untyped-def]
    page = phone
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    expect(page).to_have_title(
        "Jongerenpeiling Drenthe: wat wil jij deze zomer doen? – stap 1 van 3"
    )
    assert_accessible(page)

    about_you(page, "16", "Emmen")

    expect(page.get_by_role("heading", name="De zomer")).to_be_visible()
    activities = in_question(page, "activiteiten")
    expect(activities).to_be_hidden()  # shown only when `organiseren` is "ja"
    in_question(page, "genoeg_te_doen").get_by_label("Nee, te weinig").check()
    in_question(page, "organiseren").get_by_label("Nee", exact=True).check()
    expect(activities).to_be_hidden()
    in_question(page, "organiseren").get_by_label("Ja", exact=True).check()
    expect(activities).to_be_visible()
    activities.get_by_label("Sport en bewegen").check()
    activities.get_by_label("Muziek en festivals").check()
    activities.get_by_role("checkbox", name="Anders, namelijk").check()
    activities.get_by_label("Wat bedoel je met ‘anders’?").fill("Een skatebaan bij het meer")
    in_question(page, "cijfer").get_by_label("7", exact=True).check()
    assert_accessible(page)
    page.get_by_role("button", name="Volgende").click()

    expect(page.get_by_role("heading", name="Tot slot")).to_be_visible()
    page.get_by_label("Wil je nog iets kwijt over de zomer in jouw gemeente?").fill(
        "Meer plekken om af te spreken, 's avonds ook."
    )
    volunteer = in_question(page, "helpen")
    name = volunteer.get_by_label("Je naam")
    expect(name).to_be_hidden()
    volunteer.get_by_label("Ja", exact=True).check()
    expect(name).to_be_visible()
    name.fill("Sanne de Vries")
    volunteer.get_by_label("Je e-mailadres").fill("sanne@example.nl")
    volunteer.get_by_label("Sport", exact=True).check()
    volunteer.get_by_label("Promotie en social media").check()
    assert_accessible(page)
    page.get_by_role("button", name="Versturen").click()

    expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    assert page.url.endswith(f"/p/{demo_survey.slug}/bedankt")
    assert_accessible(page)

    assert stored(app) == {
        "municipality": "GM0114",
        "age": 16,
        "answers": {
            "leeftijd": [16.0],
            "gemeente": ["GM0114"],
            "genoeg_te_doen": ["onvoldoende"],
            "organiseren": ["ja"],
            "activiteiten": ["sport", "muziek", ("anders", "Een skatebaan bij het meer")],
            "cijfer": [7.0],
            "opmerking": ["Meer plekken om af te spreken, 's avonds ook."],
            "helpen": ["ja", "sport", "promotie"],
        },
        "volunteers": [
            ("Sanne de Vries", "sanne@example.nl", None, ["sport", "promotie"]),
        ],
    }


def test_without_javascript_the_server_applies_the_conditions(
    app, demo_survey, live_server, phone_without_js
) -> None:  # type: ignore[no-untyped-def]
    page = phone_without_js
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    about_you(page, "21", "Assen")

    # Without JavaScript every conditional question is on the page, with a note on when to answer.
    activities = in_question(page, "activiteiten")
    expect(activities).to_be_visible()
    expect(activities.get_by_text("Alleen beantwoorden als")).to_be_visible()
    in_question(page, "genoeg_te_doen").get_by_label("Ja, genoeg").check()
    in_question(page, "organiseren").get_by_label("Nee", exact=True).check()
    activities.get_by_label("Gamen").check()  # ticked, but the condition says it does not apply
    in_question(page, "cijfer").get_by_label("8", exact=True).check()
    page.get_by_role("button", name="Volgende").click()

    volunteer = in_question(page, "helpen")
    expect(volunteer.get_by_label("Je naam")).to_be_visible()
    volunteer.get_by_label("Ja", exact=True).check()
    volunteer.get_by_label("Je naam").fill("Mo")
    volunteer.get_by_label("Je telefoonnummer").fill("06-87654321")
    page.get_by_role("button", name="Versturen").click()

    expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    assert stored(app) == {
        "municipality": "GM0106",
        "age": 21,
        "answers": {
            "leeftijd": [21.0],
            "gemeente": ["GM0106"],
            "genoeg_te_doen": ["genoeg"],
            "organiseren": ["nee"],
            "cijfer": [8.0],
            "helpen": ["ja"],
        },
        "volunteers": [("Mo", None, "06-87654321", [])],
    }


def test_without_javascript_a_hidden_required_question_does_not_block(
    app, demo_survey, live_server, phone_without_js
) -> None:  # type: ignore[no-untyped-def]
    """`activiteiten` is required, but with `organiseren` = nee it is skipped, not demanded."""
    page = phone_without_js
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    about_you(page, "14", "Meppel")
    in_question(page, "genoeg_te_doen").get_by_label("Weet ik niet").check()
    in_question(page, "organiseren").get_by_label("Ja", exact=True).check()
    in_question(page, "cijfer").get_by_label("5", exact=True).check()
    page.get_by_role("button", name="Volgende").click()
    # With "ja", the required activities were left empty: the page comes back with the error.
    expect(page.get_by_role("heading", name="Er is nog 1 probleem")).to_be_visible()
    expect(in_question(page, "cijfer").get_by_label("5", exact=True)).to_be_checked()
    in_question(page, "organiseren").get_by_label("Nee", exact=True).check()
    page.get_by_role("button", name="Volgende").click()
    expect(page.get_by_role("heading", name="Tot slot")).to_be_visible()
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    assert "activiteiten" not in stored(app)["answers"]  # type: ignore[operator]


def test_validation_errors_are_announced_and_answers_kept(
    app, demo_survey, live_server, phone
) -> None:  # type: ignore[no-untyped-def]
    page = phone
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    page.get_by_label("Hoe oud ben je?").fill("zeventien")
    page.get_by_label("In welke gemeente woon je?").select_option(label="Tynaarlo")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Volgende").click()
    assert posted.value.status == 422

    summary = page.locator("#foutmeldingen")
    expect(summary).to_be_focused()  # screen readers read the summary first
    expect(summary).to_contain_text("Hoe oud ben je?")
    expect(page).to_have_title(
        "Fout: Jongerenpeiling Drenthe: wat wil jij deze zomer doen? – stap 1 van 3"
    )
    age = page.get_by_label("Hoe oud ben je?")
    expect(age).to_have_value("zeventien")
    expect(age).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("In welke gemeente woon je?")).to_have_value("GM1730")
    assert_accessible(page)

    summary.get_by_role("link").first.click()
    expect(age).to_be_focused()  # the summary links straight to the field
    age.fill("17")
    page.get_by_role("button", name="Volgende").click()
    expect(page.get_by_role("heading", name="De zomer")).to_be_visible()
    assert count_rows(app, "response") == 0


def test_double_click_on_send_stores_one_response(app, demo_survey, live_server, phone) -> None:  # type: ignore[no-untyped-def]
    page = phone
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    about_you(page, "19", "Hoogeveen")
    in_question(page, "genoeg_te_doen").get_by_label("Ja, meer dan genoeg").check()
    in_question(page, "organiseren").get_by_label("Nee", exact=True).check()
    in_question(page, "cijfer").get_by_label("9", exact=True).check()
    page.get_by_role("button", name="Volgende").click()
    page.get_by_role("button", name="Versturen").dblclick()
    expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    page.reload()  # a GET of the thank-you page (post/redirect/get): nothing is sent again
    expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    assert count_rows(app, "response") == 1


@pytest.mark.parametrize("width", [320, 390])
def test_no_horizontal_scrolling_on_small_phones(
    app, demo_survey, live_server, browser, width
) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        locale="nl-NL", viewport={"width": width, "height": 640}, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server}/p/{demo_survey.slug}")
        assert_no_horizontal_scroll(page)
        about_you(page, "15", "Westerveld")
        in_question(page, "organiseren").get_by_label("Ja", exact=True).check()
        assert_no_horizontal_scroll(page)  # the grade buttons 1-10 wrap instead of overflowing
        page.get_by_role("button", name="Volgende").click()  # errors: long messages must wrap
        expect(page.locator("#foutmeldingen")).to_be_visible()
        assert_no_horizontal_scroll(page)
    finally:
        context.close()


def test_privacy_and_status_pages_are_accessible(
    app, demo_survey, make_survey, live_server, phone
) -> None:  # type: ignore[no-untyped-def]
    page = phone
    page.goto(f"{live_server}/p/{demo_survey.slug}/privacy")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)
    closed = make_survey(slug="gesloten-peiling", status="closed")
    response = page.goto(f"{live_server}/p/{closed.slug}")
    assert response is not None and response.status == 410
    assert_accessible(page)
    response = page.goto(f"{live_server}/p/bestaat-niet")
    assert response is not None and response.status == 404
    assert_accessible(page)


def test_the_accessibility_check_does_catch_violations(demo_survey, live_server, phone) -> None:  # type: ignore[no-untyped-def]
    """Guards the checks above against passing vacuously (axe not injected, wrong page)."""
    phone.goto(f"{live_server}/p/{demo_survey.slug}")
    phone.evaluate(
        "() => { const i = document.createElement('input'); i.type = 'text';"
        " document.querySelector('form').appendChild(i); }"
    )
    with pytest.raises(AssertionError, match="label"):
        assert_accessible(phone)


def test_live_conditions_on_municipality_and_age(app, make_survey, live_server, phone) -> None:  # type: ignore[no-untyped-def]
    """Same-page conditions on a select and on a typed number, decided in the browser."""
    under_16 = {"question": "leeftijd", "op": "in", "values": [12, 13, 14, 15]}
    survey = make_survey(
        [
            {
                "questions": [
                    {"code": "leeftijd", "type": "age", "text": "Hoe oud ben je?"},
                    {"code": "gemeente", "type": "municipality", "text": "Waar woon je?"},
                    {
                        "code": "emmen",
                        "type": "short_text",
                        "text": "Welke wijk in Emmen?",
                        "show_if": {"question": "gemeente", "op": "equals", "value": "GM0114"},
                    },
                    {
                        "code": "ouders",
                        "type": "yes_no",
                        "text": "Weten je ouders dat je meedoet?",
                        "show_if": under_16,
                    },
                ]
            }
        ],
        slug="live-voorwaarden",
    )
    page = phone
    page.goto(f"{live_server}/p/{survey.slug}")
    wijk, ouders = in_question(page, "emmen"), in_question(page, "ouders")
    expect(wijk).to_be_hidden()
    expect(ouders).to_be_hidden()
    page.get_by_label("Waar woon je?").select_option(label="Emmen")
    expect(wijk).to_be_visible()
    page.get_by_label("Hoe oud ben je?").fill("014")
    page.get_by_label("Hoe oud ben je?").press("Tab")  # "change" fires when the field is left
    expect(ouders).to_be_visible()
    page.get_by_label("Hoe oud ben je?").fill("16")
    page.get_by_label("Hoe oud ben je?").press("Tab")
    expect(ouders).to_be_hidden()
    # Digits of other scripts count as the server counts them (logic.normalise): full-width
    # from a Japanese keyboard, Arabic-Indic, and mathematical bold beyond the 16-bit range.
    bold_14, bold_16 = "\U0001d7cf\U0001d7d2", "\U0001d7cf\U0001d7d4"
    for under, over in (("１４", "１６"), ("١٤", "١٦"), (bold_14, bold_16)):
        page.get_by_label("Hoe oud ben je?").fill(under)
        page.get_by_label("Hoe oud ben je?").press("Tab")
        expect(ouders).to_be_visible()
        page.get_by_label("Hoe oud ben je?").fill(over)
        page.get_by_label("Hoe oud ben je?").press("Tab")
        expect(ouders).to_be_hidden()
    page.get_by_label("Hoe oud ben je?").fill("16")
    page.get_by_label("Welke wijk in Emmen?").fill("Emmerhout")
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
    assert stored(app)["answers"] == {
        "leeftijd": [16.0],
        "gemeente": ["GM0114"],
        "emmen": ["Emmerhout"],
    }


def test_a_phone_that_blocks_all_cookies_sends_the_poll(
    app, demo_survey, live_server, browser, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Chromium with its own setting "don't allow sites to save data" (Safari's "block all
    cookies" does the same): the form's cookie never comes back, so the post is let through
    on the browser's Sec-Fetch-Site: same-origin (peiling.surveys.formguard.check)."""
    from tests.browser.conftest import ARGS, CHROMIUM, PHONE

    preferences = tmp_path / "profiel" / "Default" / "Preferences"
    preferences.parent.mkdir(parents=True)
    blocked = {"profile": {"default_content_setting_values": {"cookies": 2}}}
    preferences.write_text(json.dumps(blocked))
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profiel", executable_path=CHROMIUM, args=ARGS, headless=True,
        locale="nl-NL", viewport=PHONE, is_mobile=True, has_touch=True,
    )  # fmt: skip
    try:
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(f"{live_server}/p/{demo_survey.slug}")
        about_you(page, "19", "Assen")
        expect(page.get_by_role("heading", name="De zomer")).to_be_visible()
        in_question(page, "genoeg_te_doen").get_by_label("Ja, genoeg").check()
        in_question(page, "organiseren").get_by_label("Nee", exact=True).check()
        in_question(page, "cijfer").get_by_label("8", exact=True).check()
        page.get_by_role("button", name="Volgende").click()
        expect(page.get_by_role("heading", name="Tot slot")).to_be_visible()
        page.get_by_role("button", name="Versturen").click()
        expect(page.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()
        assert context.cookies() == []  # the setting was really in effect
    finally:
        context.close()
    assert stored(app)["answers"] == {
        "leeftijd": [19.0],
        "gemeente": ["GM0106"],
        "genoeg_te_doen": ["genoeg"],
        "organiseren": ["nee"],
        "cijfer": [8.0],
    }
