"""Under 16, or without a known age, the volunteer block asks for a parent's or guardian's
permission before contact details can be left; checked on the server, stored, and shown
to staff."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from peiling.extensions import db
from tests.analysis.test_workbook import download
from tests.conftest import count_rows
from tests.surveys.test_form import PAGE_2, PAGE_3

CHECKBOX = 'name="q_helpen__toestemming"'
LABEL = "Mijn ouder of verzorger vindt het goed dat ik mijn naam en contactgegevens achterlaat"
CONTACT = {"q_helpen": "ja", "q_helpen__naam": "Noor Jansen", "q_helpen__email": "noor@example.org"}


def walk(r, age: str, last: dict):  # type: ignore[no-untyped-def]
    """The demo poll: age on page 1, the volunteer block on page 3 (age as a hidden field)."""
    r.open()
    page_1 = {"q_leeftijd": age, "q_gemeente": "GM0114"}
    r.post(0, page_1)
    third = r.post(1, {**page_1, **PAGE_2})
    assert third.status_code == 200
    return third, r.post(2, {**page_1, **PAGE_2, **last})


def stored_consent(app) -> list[object]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.text("SELECT guardian_consent FROM volunteer")))


def test_under_16_on_an_earlier_page_needs_the_permission(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    third, refused = walk(respondent(demo_survey.slug), "14", {**PAGE_3, **CONTACT})
    html = third.get_data(as_text=True)
    assert CHECKBOX in html and LABEL in html
    for words in ("in jouw gemeente organiseren", "apart van je antwoorden", "versleuteld",
                  "90 dagen nadat de peiling is gesloten"):  # fmt: skip
        assert words in html, words
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'href="#q_helpen__toestemming"' in html  # in the error summary
    assert 'id="q_helpen__toestemming-fout"' in html and "Vraag je ouder of verzorger" in html
    assert 'value="Noor Jansen"' in html and 'value="noor@example.org"' in html  # kept
    assert 'name="q_leeftijd" value="14"' in html  # the earlier pages too
    assert count_rows(app, "response") == 0
    r = respondent(demo_survey.slug)
    _, done = walk(r, "14", {**PAGE_3, **CONTACT, "q_helpen__toestemming": "ja"})
    assert done.status_code == 303
    assert stored_consent(app) == [True]


@pytest.mark.parametrize("age", ["16", "17", "25"])
def test_from_16_nothing_is_asked_and_nothing_stored(app, demo_survey, respondent, age) -> None:  # type: ignore[no-untyped-def]
    third, done = walk(respondent(demo_survey.slug), age, {**PAGE_3, **CONTACT})
    assert CHECKBOX not in third.get_data(as_text=True)
    assert done.status_code == 303
    assert stored_consent(app) == [None]


def test_choosing_no_needs_no_permission(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    _, done = walk(respondent(demo_survey.slug), "13", {"q_helpen": "nee"})
    assert done.status_code == 303
    assert count_rows(app, "volunteer") == 0


def stored_choice(app) -> list[tuple[object, object]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(
            sa.text("SELECT guardian_consent, declared_of_age FROM volunteer ORDER BY id")
        )
        return [tuple(row) for row in rows]


@pytest.fixture
def no_age(make_survey):  # type: ignore[no-untyped-def]
    return make_survey(pages=[{"questions": [
        {"code": "helpen", "type": "volunteer", "text": "Wil je helpen?"}]}])  # fmt: skip


def test_without_an_age_a_choice_is_offered_not_a_guardian_checkbox(
    app, no_age, respondent
) -> None:  # type: ignore[no-untyped-def]
    """An adult need not claim a guardian's permission: she says she is 16 or older."""
    r = respondent(no_age.slug)
    html = r.open().get_data(as_text=True)
    assert "data-consent-age" not in html and LABEL not in html
    block = html[html.index('id="q_helpen__toestemming-blok"') :]
    assert "<legend>Hoe oud ben je?</legend>" in block
    assert re.search(r'type="radio" id="q_helpen__toestemming" name="q_helpen__toestemming"'
                     r' value="oud-genoeg"', block)  # fmt: skip
    assert 'for="q_helpen__toestemming">Ik ben 16 jaar of ouder</label>' in block
    assert "Ik ben jonger dan 16 en mijn ouder of verzorger vindt het goed" in block
    refused = r.post(0, CONTACT)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'href="#q_helpen__toestemming"' in html
    assert "Kies of je 16 jaar of ouder bent" in html
    assert r.post(0, {**CONTACT, "q_helpen__toestemming": "oud-genoeg"}).status_code == 303
    younger = respondent(no_age.slug)
    younger.client = app.test_client()
    younger.open()
    assert younger.post(0, {**CONTACT, "q_helpen__toestemming": "ja"}).status_code == 303
    assert stored_choice(app) == [(None, True), (True, None)]


def test_a_known_age_under_16_cannot_declare_16_or_older(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    _, refused = walk(respondent(demo_survey.slug), "14",
                      {**PAGE_3, **CONTACT, "q_helpen__toestemming": "oud-genoeg"})  # fmt: skip
    assert refused.status_code == 422
    assert count_rows(app, "volunteer") == 0


def test_a_known_age_of_16_or_more_stores_no_declaration(app, demo_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    _, done = walk(respondent(demo_survey.slug), "19",
                   {**PAGE_3, **CONTACT, "q_helpen__toestemming": "oud-genoeg"})  # fmt: skip
    assert done.status_code == 303
    assert stored_choice(app) == [(None, None)]


def test_staff_see_which_permission_was_given_without_an_age(
    app, no_age, respondent, logged_in
) -> None:  # type: ignore[no-untyped-def]
    for name, choice in (("Anna Smit", "oud-genoeg"), ("Sem Bakker", "ja")):
        r = respondent(no_age.slug)
        r.client = app.test_client()
        r.open()
        given = {**CONTACT, "q_helpen__naam": name, "q_helpen__toestemming": choice}
        assert r.post(0, given).status_code == 303
    staff = logged_in("researcher")
    html = staff.get(f"/analysis/{no_age.slug}/vrijwilligers").get_data(as_text=True)
    assert volunteer_rows(html) == {
        "Anna Smit": "Niet nodig: gaf zelf aan 16 jaar of ouder te zijn",
        "Sem Bakker": "Ja, ouder of verzorger gaf toestemming (jonger dan 16)",
    }
    assert workbook_consent(staff, no_age.slug) == volunteer_rows(html)


def volunteer_rows(html: str) -> dict[str, str]:
    return {
        re.sub(r"<[^>]+>", "", row[0]): row[-1]
        for row in (
            re.findall(r"<td>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", html, re.S)
        )
        if row
    }


def workbook_consent(staff, slug: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    book = openpyxl.load_workbook(io.BytesIO(download(staff, f"/analysis/{slug}/export.xlsx")))
    values = [[c.value for c in row] for row in book["Vrijwilligers"].iter_rows()]
    assert values[0][6] == "Toestemming ouder/verzorger"
    return {row[0]: row[6] for row in values[1:]}


@pytest.fixture
def one_page(make_survey):  # type: ignore[no-untyped-def]
    return make_survey(pages=[{"questions": [
        {"code": "leeftijd", "type": "age", "text": "Hoe oud ben je?", "required": True},
        {"code": "helpen", "type": "volunteer", "text": "Wil je helpen?"}]}])  # fmt: skip


def test_a_required_age_on_the_same_page_shows_the_checkbox_with_a_note(
    app, one_page, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(one_page.slug)
    html = r.open().get_data(as_text=True)
    # Always sent: the script hides it from 16 on; without it, the note says when it applies.
    assert CHECKBOX in html
    assert 'data-consent-age="16" data-age-field="q_leeftijd"' in html
    assert "Alleen als je jonger bent dan 16 jaar." in html
    assert r.post(0, {"q_leeftijd": "15", **CONTACT}).status_code == 422
    assert r.post(0, {"q_leeftijd": "18", **CONTACT}).status_code == 303
    assert stored_consent(app) == [None]


def test_an_age_outside_the_range_meets_the_age_gate_not_the_checkbox(
    app, one_page, respondent
) -> None:  # type: ignore[no-untyped-def]
    r = respondent(one_page.slug)
    r.open()
    page = r.post(0, {"q_leeftijd": "10", **CONTACT})
    assert page.status_code == 200
    assert "Deze peiling is voor jongeren" in page.get_data(as_text=True)
    assert count_rows(app, "response") == 0


def test_the_age_limit_is_a_setting(app, one_page, respondent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "GUARDIAN_CONSENT_AGE", 18)
    r = respondent(one_page.slug)
    assert 'data-consent-age="18"' in r.open().get_data(as_text=True)
    assert r.post(0, {"q_leeftijd": "17", **CONTACT}).status_code == 422
    given = {"q_leeftijd": "17", **CONTACT, "q_helpen__toestemming": "ja"}
    assert r.post(0, given).status_code == 303


def test_staff_see_the_permission_on_the_list_and_in_the_workbook(
    app, demo_survey, respondent, logged_in
) -> None:  # type: ignore[no-untyped-def]
    walk(respondent(demo_survey.slug), "14", {**PAGE_3, **CONTACT, "q_helpen__toestemming": "ja"})
    older = respondent(demo_survey.slug)
    older.client = app.test_client()
    walk(older, "19", {**PAGE_3, **CONTACT, "q_helpen__naam": "Bram de Vries"})
    staff = logged_in("researcher")
    html = staff.get(f"/analysis/{demo_survey.slug}/vrijwilligers").get_data(as_text=True)
    assert "Toestemming ouder of verzorger" in html
    expected = {
        "Noor Jansen": "Ja, ouder of verzorger gaf toestemming (jonger dan 16)",
        "Bram de Vries": "Niet gevraagd: leeftijd 16 jaar of ouder",
    }
    assert volunteer_rows(html) == expected
    assert workbook_consent(staff, demo_survey.slug) == expected
