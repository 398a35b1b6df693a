"""A refused designer form says what is wrong beside the field, in the form's own words.

The importer's messages name the JSON file's keys ("vraag 'aantal': veld 'min' moet een
getal zijn"); the forms used to list them so, above the form, with no link to the field
and nothing beside it. A researcher knows the field as "Kleinste getal".
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from peiling.designer.problems import QUESTION_FIELDS, for_form
from peiling.extensions import db
from peiling.surveys.importer import DefinitionError, Problem, build_survey
from tests.auth.fixtures import csrf_of
from tests.designer.problem_html import beside, summary
from tests.designer.test_designer_pages import definition


def editor_csrf(client: FlaskClient, slug: str) -> str:
    return csrf_of(client.get(f"/ontwerp/{slug}").get_data(as_text=True))


SETTINGS = {"title": "Zomer", "age_min": "12", "age_max": "25"}
TWO_QUESTIONS = [{"questions": [
    {"code": "sport", "type": "yes_no", "text": "Sport je?"},
    {"code": "uren", "type": "number", "text": "Hoeveel uur?", "min": 0, "max": 40},
]}]  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "element", "label", "message"),
    [
        ({"title": ""}, "title", "Titel", "vul dit in"),
        ({"age_min": "twaalf"}, "age_min", "Leeftijd vanaf", "moet een getal zijn"),
        ({"age_min": "12,5"}, "age_min", "Leeftijd vanaf", "moet een heel getal zijn"),
        ({"age_min": "-3"}, "age_min", "Leeftijd vanaf", "mag niet kleiner dan 0 zijn"),
        ({"age_max": "130"}, "age_max", "Leeftijd tot en met", "mag hoogstens 120 zijn"),
        ({"age_min": "18", "age_max": "16"}, "age_max", "Leeftijd tot en met",
         "is kleiner dan de leeftijd vanaf"),
        ({"opens_at": "gisteren"}, "opens_at", "Opent op", "is geen datum en tijd"),
        ({"closes_at": "9999-12-31T23:59"}, "closes_at", "Sluit op",
         "moet tussen de jaren 1900 en 8999 liggen"),
        # A survey that closes before it opens could never be answered.
        ({"opens_at": "2027-06-01T09:00", "closes_at": "2027-05-01T09:00"}, "closes_at",
         "Sluit op", "ligt niet na het moment van openen"),
        ({"opens_at": "2027-06-01T09:00", "closes_at": "2027-06-01T09:00"}, "closes_at",
         "Sluit op", "ligt niet na het moment van openen"),
        ({"privacy_statement": "x" * 10_001}, "privacy_statement", "Privacyverklaring",
         "is langer dan 10000 tekens"),
    ],
)  # fmt: skip
def test_refused_settings_say_what_is_wrong_beside_the_field(  # type: ignore[no-untyped-def]
    app, logged_in, make_survey, typed, element, label, message
) -> None:
    make_survey(slug="velden", status="draft", title="Velden")
    client = logged_in("researcher")
    posted = client.post(
        "/ontwerp/velden/instellingen",
        data={"csrf_token": editor_csrf(client, "velden"), **SETTINGS, **typed},
    )
    html = posted.get_data(as_text=True)
    assert posted.status_code == 422
    assert summary(html) == [(element, f"{label}: {message}")]
    assert beside(html, element) == f"Fout: {message}"
    others = ("title", "age_min", "age_max", "opens_at", "closes_at", "privacy_statement")
    assert all(beside(html, other) is None for other in others if other != element)
    assert definition(app, "velden")["title"] == "Velden"  # nothing stored


def test_settings_that_open_before_they_close_are_saved(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="op-tijd", status="draft")
    client = logged_in("researcher")
    saved = client.post(
        "/ontwerp/op-tijd/instellingen",
        data={"csrf_token": editor_csrf(client, "op-tijd"), **SETTINGS,
              "opens_at": "2027-06-01T09:00", "closes_at": "2027-06-01T09:01"},
    )  # fmt: skip
    assert saved.status_code == 302
    stored = definition(app, "op-tijd")
    assert stored["opens_at"] < stored["closes_at"]


NUMBER = {"type": "number", "text": "Hoeveel uur sport je?", "min": "0", "max": "40"}
CHOICE = {"type": "single_choice", "text": "Welke sport?", "options": "a = Voetbal\nb = Hockey"}


@pytest.mark.parametrize(
    ("typed", "element", "label", "message"),
    [
        ({**NUMBER, "min": "50"}, "min", "Kleinste getal", "is groter dan het grootste getal"),
        ({**NUMBER, "max": "veertig"}, "max", "Grootste getal", "moet een getal zijn"),
        ({**NUMBER, "text": "  "}, "text", "Vraag", "vul dit in"),
        ({**NUMBER, "text": "x" * 2001}, "text", "Vraag", "is langer dan 2000 tekens"),
        ({**CHOICE, "options": "a = Voetbal"}, "options", "Antwoordopties",
         "geef minstens twee antwoordopties"),
        ({**CHOICE, "options": "a = Voetbal\na = Hockey"}, "options", "Antwoordopties",
         "antwoordoptie 'a' komt twee keer voor"),
        # Left over after switching the type from a number: she is told to empty it.
        ({**CHOICE, "min": "3"}, "min", "Kleinste getal",
         "hoort niet bij dit soort vraag; maak het leeg"),
        ({**CHOICE, "type": "multiple_choice", "max_choices": "0"}, "max_choices",
         "Hoogstens zoveel keuzes", "moet een heel getal van minstens 1 zijn"),
        ({**NUMBER, "other": "1"}, "other", "‘Anders, namelijk’", "kan alleen bij een keuzevraag"),
        ({**NUMBER, "show_if_question": "sport", "show_if_op": "equals",
          "show_if_values": "zwemmen"}, "show_if_values", "Alleen tonen als: de antwoordcodes",
         "vraag 'sport' heeft geen antwoord 'zwemmen'"),
        ({**NUMBER, "show_if_question": "sport", "show_if_op": "equals",
          "show_if_values": "ja, nee"}, "show_if_values", "Alleen tonen als: de antwoordcodes",
         "geef bij ‘is’ precies één antwoordcode, anders één of meer"),
        ({**NUMBER, "show_if_question": "sport", "show_if_op": "groter"}, "show_if_op",
         "Alleen tonen als: als antwoord", "kies een van de mogelijkheden"),
    ],
)  # fmt: skip
def test_a_refused_question_says_what_is_wrong_beside_the_field(  # type: ignore[no-untyped-def]
    app, logged_in, make_survey, typed, element, label, message
) -> None:
    make_survey(TWO_QUESTIONS, slug="vraagvelden", status="draft")
    stored = definition(app, "vraagvelden")
    client = logged_in("researcher")
    posted = client.post(
        "/ontwerp/vraagvelden/vraag/uren",
        data={"csrf_token": editor_csrf(client, "vraagvelden"), **typed},
    )
    html = posted.get_data(as_text=True)
    assert posted.status_code == 422
    assert (element, f"{label}: {message}") in summary(html)
    assert beside(html, element) == f"Fout: {message}"
    assert definition(app, "vraagvelden") == stored


def test_a_refused_new_question_is_marked_on_the_page_it_was_typed_on(  # type: ignore[no-untyped-def]
    app, logged_in, make_survey
) -> None:
    make_survey(slug="nieuwe-vraag", status="draft")
    stored = definition(app, "nieuwe-vraag")
    taken = stored["pages"][0]["questions"][0]["code"]
    client = logged_in("researcher")
    csrf = editor_csrf(client, "nieuwe-vraag")
    client.post("/ontwerp/nieuwe-vraag/pagina", data={"csrf_token": csrf, "title": "Twee"})
    for code, message in (
        ("Sport 2", "moet beginnen met een kleine letter en mag alleen kleine letters, "
                    "cijfers en _ bevatten"),
        (taken, "is al in gebruik"),
    ):  # fmt: skip
        posted = client.post(
            "/ontwerp/nieuwe-vraag/vraag",
            data={"csrf_token": csrf, "page": "1", "type": "short_text", "code": code,
                  "text": "Wat wil je nog kwijt?"},
        )  # fmt: skip
        html = posted.get_data(as_text=True)
        assert posted.status_code == 422
        assert summary(html) == [("code-1", f"Code: {message}")]
        assert beside(html, "code-1") == f"Fout: {message}"
        assert beside(html, "code-0") is None
        assert (
            f'id="code-1" name="code" required pattern="[a-z][a-z0-9_]{{0,63}}" value="{code}"'
            in html
        )
        assert 'id="text-1" name="text" required value="Wat wil je nog kwijt?"' in html
    assert len(definition(app, "nieuwe-vraag")["pages"]) == 2


def test_a_refused_new_page_title_is_marked(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="paginatitel", status="draft")
    client = logged_in("researcher")
    posted = client.post(
        "/ontwerp/paginatitel/pagina",
        data={"csrf_token": editor_csrf(client, "paginatitel"), "title": "t" * 201},
    )
    html = posted.get_data(as_text=True)
    assert posted.status_code == 422
    assert summary(html) == [
        ("new-page-title", "Titel van een nieuwe pagina: is langer dan 200 tekens")
    ]
    assert beside(html, "new-page-title") == "Fout: is langer dan 200 tekens"
    assert beside(html, "title") is None  # the questionnaire's own title is fine


def test_a_new_questionnaire_with_a_taken_address_is_marked(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="bezet", status="draft")
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/nieuw").get_data(as_text=True))
    posted = client.post(
        "/ontwerp/nieuw",
        data={"csrf_token": csrf, "template": "leeg", "title": "", "slug": "bezet"},
    )
    html = posted.get_data(as_text=True)
    assert posted.status_code == 422
    assert summary(html) == [
        ("slug", "Adres: is al in gebruik door een andere vragenlijst"),
        ("title", "Titel: vul dit in"),
    ]
    assert beside(html, "slug") == "Fout: is al in gebruik door een andere vragenlijst"
    assert beside(html, "title") == "Fout: vul dit in"


def test_english_staff_read_the_field_problems_in_english(app, logged_in, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="engels", status="draft")
    client = logged_in("researcher")
    posted = client.post(
        "/ontwerp/engels/instellingen",
        data={"csrf_token": editor_csrf(client, "engels"), **SETTINGS, "age_min": "twaalf"},
        headers={"Accept-Language": "en"},
    )
    html = posted.get_data(as_text=True)
    assert summary(html) == [("age_min", "Minimum age: must be a number")]
    assert beside(html, "age_min") == "Error: must be a number"


def test_the_file_importer_still_names_the_keys(app) -> None:  # type: ignore[no-untyped-def]
    # The command line and uploads keep the file's own words: where, and which key.
    data = {"slug": "sleutels", "title": "Sleutels", "region": "drenthe",
            "opens_at": "2027-06-01T09:00:00+02:00", "closes_at": "2027-05-01T09:00:00+02:00",
            "age_min": 12.5,
            "pages": [{"questions": [
                {"code": "uren", "type": "number", "text": "Uren?", "min": 5, "max": 1},
            ]}]}  # fmt: skip
    with app.app_context(), pytest.raises(DefinitionError) as refused:
        build_survey(db.session, data)
    assert refused.value.problems == [
        "vragenlijst: veld 'age_min' moet een heel getal zijn",
        "vragenlijst: 'closes_at' ligt niet na 'opens_at'",
        "vraag 'uren': 'min' is groter dan 'max'",
    ]
    first, second, third = refused.value.details
    assert (first.field, first.question, first.page) == ("age_min", None, None)
    assert (second.field, second.question) == ("closes_at", None)
    assert (third.field, third.question, third.page) == ("min", "uren", 1)


def test_a_problem_with_another_question_is_listed_with_its_place(app) -> None:  # type: ignore[no-untyped-def]
    # Another question's problem cannot be put beside this form's fields.
    elsewhere = Problem("vraag 'leeftijd'", "veld 'min' moet een getal zijn", "min", "leeftijd",
                        "moet een getal zijn", 1)  # fmt: skip
    mine = Problem("vraag 'uren'", "veld 'min' moet een getal zijn", "min", "uren",
                   "moet een getal zijn", 2)  # fmt: skip
    survey = Problem(
        "vragenlijst", "veld 'title' ontbreekt of is leeg", "title", None, "vul dit in"
    )
    with app.test_request_context():
        shown = for_form([elsewhere, mine, survey], QUESTION_FIELDS, question="uren")
    assert [(element, text) for element, text in shown.summary] == [
        (None, "vraag 'leeftijd': veld 'min' moet een getal zijn"),
        ("min", "Kleinste getal: moet een getal zijn"),
        (None, "vragenlijst: veld 'title' ontbreekt of is leeg"),
    ]
    assert shown.beside == {"min": "moet een getal zijn"}


def test_a_change_answers_forbid_is_marked_at_its_field(  # type: ignore[no-untyped-def]
    app, logged_in, demo_survey, respondent
) -> None:
    from tests.surveys.test_form import complete

    assert complete(respondent(demo_survey.slug)).status_code == 303  # picks sport, anders
    client = logged_in("researcher")
    csrf = editor_csrf(client, demo_survey.slug)
    url = f"/ontwerp/{demo_survey.slug}/vraag/activiteiten"
    stored = definition(app, demo_survey.slug)
    options = "\n".join(f"{o['code']} = {o['label']}"
                        for o in stored["pages"][1]["questions"][2]["options"])  # fmt: skip
    retyped = client.post(url, data={"csrf_token": csrf, "type": "single_choice",
                                     "text": "Wat wil je doen?", "options": options,
                                     "other": "1"})  # fmt: skip
    html = retyped.get_data(as_text=True)
    assert retyped.status_code == 422
    message = ("Vraag 'activiteiten' heeft al antwoorden: het soort vraag kan niet meer "
               "veranderen. Maak een nieuwe vraag.")  # fmt: skip
    assert summary(html) == [("type", f"Soort vraag: {message}")]
    assert beside(html, "type") == f"Fout: {message}"
    without_sport = "\n".join(line for line in options.splitlines() if not line.startswith("sport"))
    dropped = client.post(url, data={"csrf_token": csrf, "type": "multiple_choice",
                                     "text": "Wat wil je doen?", "options": without_sport,
                                     "other": "1"})  # fmt: skip
    html = dropped.get_data(as_text=True)
    assert dropped.status_code == 422
    message = "Antwoordoptie 'Sport en bewegen' is al gekozen en kan daarom niet weg."
    assert summary(html) == [("options", f"Antwoordopties: {message}")]
    assert beside(html, "options") == f"Fout: {message}"
    assert definition(app, demo_survey.slug) == stored
