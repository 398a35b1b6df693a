"""Translated questionnaires in Chromium: answered in English (issue 3, acceptance 8), and
in Arabic, right to left."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from peiling.analysis.services import option_counts
from peiling.extensions import db
from tests.browser.conftest import PHONE
from tests.browser.test_form_browser import (
    assert_accessible,
    assert_no_horizontal_scroll,
    in_question,
    stored,
)
from tests.surveys.test_languages import multilingual_definition

pytestmark = pytest.mark.browser


@pytest.fixture
def english_phone(browser: Browser) -> Iterator[Page]:
    """A phone whose owner reads English: Chromium sends Accept-Language: en-GB."""
    context = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def arabic_phone(browser: Browser) -> Iterator[Page]:
    """A phone set to Arabic: Chromium sends Accept-Language: ar."""
    context = browser.new_context(locale="ar", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def answer_in_english(page: Page) -> None:
    page.get_by_label("How old are you?").fill("16")
    page.get_by_label("Which municipality do you live in?").select_option(label="Emmen")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="The summer")).to_be_visible()
    in_question(page, "genoeg_te_doen").get_by_label("No, too little").check()
    in_question(page, "organiseren").get_by_label("Yes", exact=True).check()
    activities = in_question(page, "activiteiten")
    expect(activities).to_be_visible()  # the condition works the same in English
    activities.get_by_label("Sport and exercise").check()
    activities.get_by_role("checkbox", name="Other, namely").check()
    activities.get_by_label("What do you mean by ‘other’?").fill("A skate park")
    in_question(page, "cijfer").get_by_label("7", exact=True).check()
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Finally")).to_be_visible()
    volunteer = in_question(page, "helpen")
    volunteer.get_by_label("Yes", exact=True).check()
    volunteer.get_by_label("Your name").fill("Sam Jones")
    volunteer.get_by_label("Your email address").fill("sam@example.org")
    volunteer.get_by_label("Sport", exact=True).check()
    assert_accessible(page)
    page.get_by_role("button", name="Send").click()


def test_english_respondent_answers_the_demo_poll(  # type: ignore[no-untyped-def]
    app, demo_survey, live_server, english_phone, phone
) -> None:
    page = english_phone
    page.goto(f"{live_server}/p/{demo_survey.slug}")
    assert page.get_attribute("html", "lang") == "en"
    expect(page).to_have_title(
        "Youth poll Drenthe: what do you want to do this summer? – step 1 of 3"
    )
    assert_accessible(page)
    # An error comes in English, and the answers stay.
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="There are 2 problems left")).to_be_visible()
    assert_accessible(page)
    answer_in_english(page)
    expect(page.get_by_role("heading", name="Thank you for taking part!")).to_be_visible()
    assert page.get_attribute("html", "lang") == "en"
    assert_accessible(page)
    english = stored(app)

    with app.app_context():
        db.session.execute(sa.delete(db.metadata.tables["response"]))
        db.session.commit()

    # The same clicks by a Dutch respondent, who switches from English to Dutch on the way.
    dutch = phone
    dutch.goto(f"{live_server}/p/{demo_survey.slug}?taal=en")
    dutch.get_by_label("How old are you?").fill("16")
    dutch.get_by_role("button", name="Nederlands").click()
    expect(dutch.get_by_label("Hoe oud ben je?")).to_have_value("16")
    assert dutch.get_attribute("html", "lang") == "nl"
    assert_accessible(dutch)
    dutch.get_by_label("In welke gemeente woon je?").select_option(label="Emmen")
    dutch.get_by_role("button", name="Volgende").click()
    in_question(dutch, "genoeg_te_doen").get_by_label("Nee, te weinig").check()
    in_question(dutch, "organiseren").get_by_label("Ja", exact=True).check()
    activities = in_question(dutch, "activiteiten")
    activities.get_by_label("Sport en bewegen").check()
    activities.get_by_role("checkbox", name="Anders, namelijk").check()
    activities.get_by_label("Wat bedoel je met ‘anders’?").fill("A skate park")
    in_question(dutch, "cijfer").get_by_label("7", exact=True).check()
    dutch.get_by_role("button", name="Volgende").click()
    volunteer = in_question(dutch, "helpen")
    volunteer.get_by_label("Ja", exact=True).check()
    volunteer.get_by_label("Je naam").fill("Sam Jones")
    volunteer.get_by_label("Je e-mailadres").fill("sam@example.org")
    volunteer.get_by_label("Sport", exact=True).check()
    dutch.get_by_role("button", name="Versturen").click()
    expect(dutch.get_by_role("heading", name="Bedankt voor het meedoen!")).to_be_visible()

    # The stored answers are the same codes; only the response's language differs.
    assert stored(app) == english
    assert english["answers"]["genoeg_te_doen"] == ["onvoldoende"]
    with app.app_context():
        languages = db.session.execute(sa.text("SELECT language FROM response")).scalars().all()
    assert languages == ["nl"]


def test_analysis_counts_english_and_dutch_answers_together(  # type: ignore[no-untyped-def]
    app, demo_survey, live_server, english_phone
) -> None:
    english_phone.goto(f"{live_server}/p/{demo_survey.slug}")
    answer_in_english(english_phone)
    expect(english_phone.get_by_role("heading", name="Thank you for taking part!")).to_be_visible()
    from tests.conftest import Respondent
    from tests.surveys.test_form import complete

    complete(Respondent(app.test_client(), demo_survey.slug))  # a Dutch respondent
    with app.app_context():
        languages = sorted(db.session.execute(sa.text("SELECT language FROM response")).scalars())
        option = db.session.execute(
            sa.text(
                "SELECT o.id FROM question_option o JOIN question q ON q.id = o.question_id "
                "WHERE q.survey_id = :s AND q.code = 'genoeg_te_doen' AND o.code = 'onvoldoende'"
            ),
            {"s": demo_survey.id},
        ).scalar_one()
        counts = option_counts(db.session, demo_survey.id)
    assert languages == ["en", "nl"]
    assert sum(n for _q, o, _m, n in counts if o == option) == 2


def test_arabic_form_reads_right_to_left_on_a_phone(make_survey, live_server, arabic_phone) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(**multilingual_definition())
    page = arabic_phone
    page.goto(f"{live_server}/p/{survey.slug}")
    assert page.get_attribute("html", "lang") == "ar"
    assert page.get_attribute("html", "dir") == "rtl"
    expect(page.get_by_role("heading", level=1, name="عنك")).to_be_visible()
    yes = in_question(page, "sport").get_by_label("نعم", exact=True)
    label = in_question(page, "sport").locator("label", has_text="نعم")
    # Mirrored: the radio button sits right of its label, and the text starts at the right.
    assert yes.bounding_box()["x"] > label.bounding_box()["x"]  # type: ignore[index]
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    page.get_by_role("button", name="التالي").click()
    expect(page.get_by_role("heading", name="بقيت 3 مشاكل")).to_be_visible()
    assert page.get_attribute("html", "dir") == "rtl"
    # The red bar of a field with an error is on its reading side: the right.
    bar = in_question(page, "leeftijd").locator(".invalid")
    assert bar.evaluate("e => getComputedStyle(e).borderRightWidth") == "4px"
    assert bar.evaluate("e => getComputedStyle(e).borderLeftWidth") == "0px"
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    page.get_by_label("كم عمرك؟").fill("16")
    yes.check()
    in_question(page, "hobby").get_by_label("ألعاب الفيديو").check()
    page.get_by_role("button", name="التالي").click()
    expect(page.get_by_role("heading", level=1, name="حيّك")).to_be_visible()
    expect(page.get_by_text("1 = سيئ جدًا، 10 = ممتاز")).to_be_visible()
    assert_no_horizontal_scroll(page)  # the grades 1-10 wrap from right to left
