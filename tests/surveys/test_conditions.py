"""Conditions: equals, in and not, on questions and pages; hidden answers are never stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from peiling.extensions import db
from peiling.surveys.logic import visible_pages, visible_questions

OPTIONS = [{"code": c, "label": c.title()} for c in ("rood", "groen", "blauw")]


def survey_pages(op: str, values: list[str]) -> list[dict]:
    cond = {"question": "kleur", "op": op}
    cond.update({"value": values[0]} if op == "equals" else {"values": values})
    return [
        {
            "title": "Een",
            "questions": [
                {"code": "kleur", "type": "multiple_choice", "text": "Kleur?", "options": OPTIONS},
                {
                    "code": "waarom",
                    "type": "short_text",
                    "text": "Waarom?",
                    "required": True,
                    "show_if": cond,
                },
            ],
        },
        {
            "title": "Twee",
            "show_if": cond,
            "questions": [
                {"code": "meer", "type": "long_text", "text": "Vertel meer", "required": True},
                {"code": "leuk", "type": "yes_no", "text": "Leuk?"},
            ],
        },
        {
            "title": "Drie",
            "questions": [
                {"code": "slot", "type": "yes_no", "text": "Klaar?"},
                {
                    "code": "na_meer",
                    "type": "short_text",
                    "text": "Na meer?",
                    "show_if": {"question": "leuk", "op": "not", "values": ["nee"]},
                },
            ],
        },
    ]


@pytest.mark.parametrize(
    ("op", "values", "picked", "shown"),
    [
        ("equals", ["rood"], ["rood"], True),
        ("equals", ["rood"], ["rood", "groen"], True),  # multiple choice: "is among the picks"
        ("equals", ["rood"], ["groen"], False),
        ("equals", ["rood"], [], False),
        ("in", ["rood", "blauw"], ["blauw"], True),
        ("in", ["rood", "blauw"], ["groen"], False),
        ("in", ["rood", "blauw"], [], False),
        ("not", ["rood"], ["groen"], True),
        ("not", ["rood"], [], True),  # shown but not answered: "not rood" holds
        ("not", ["rood"], ["rood", "groen"], False),
    ],
)
def test_operators(make_survey, compiled, op, values, picked, shown) -> None:  # type: ignore[no-untyped-def]
    defn = compiled(make_survey(survey_pages(op, values)))
    raw = {"q_kleur": picked}
    visible = visible_questions(defn, raw)
    assert ("waarom" in visible) is shown
    assert ("meer" in visible) is shown  # page condition
    assert [p.title for p in visible_pages(defn, raw)] == (
        ["Een", "Twee", "Drie"] if shown else ["Een", "Drie"]
    )


def test_condition_on_hidden_question_is_false(make_survey, compiled) -> None:  # type: ignore[no-untyped-def]
    """`na_meer` asks "not nee" of `leuk`, which sits on a hidden page: so it is hidden too."""
    defn = compiled(make_survey(survey_pages("equals", ["rood"])))
    assert "na_meer" not in visible_questions(defn, {"q_kleur": ["groen"], "q_leuk": ["ja"]})
    assert "na_meer" in visible_questions(defn, {"q_kleur": ["rood"], "q_leuk": ["ja"]})
    assert "na_meer" not in visible_questions(defn, {"q_kleur": ["rood"], "q_leuk": ["nee"]})


def stored(app, survey_id: int) -> dict[str, list]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT q.code, o.code, a.value_text FROM answer a JOIN question q ON q.id = "
                "a.question_id LEFT JOIN question_option o ON o.id = a.option_id "
                "WHERE a.survey_id = :s ORDER BY q.code, o.code"
            ),
            {"s": survey_id},
        ).all()
    result: dict[str, list] = {}
    for code, option, text in rows:
        result.setdefault(code, []).append(option or text)
    return result


def test_hidden_required_question_is_not_required_and_its_answer_dropped(
    app, make_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(survey_pages("equals", ["rood"]))
    r = respondent(survey.slug)
    r.open()
    # `waarom` is required but hidden (groen); its stale answer and page two's are posted anyway.
    answers = {"q_kleur": "groen", "q_waarom": "oud antwoord", "q_meer": "verborgen"}
    page = r.post(0, answers)
    assert page.status_code == 200
    assert "Drie" in page.get_data(as_text=True)  # page two was skipped
    done = r.post(2, {**answers, "q_slot": "ja"})
    assert done.status_code == 303
    assert stored(app, survey.id) == {"kleur": ["groen"], "slot": ["ja"]}


def test_visible_required_question_is_required(app, make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(survey_pages("in", ["rood", "blauw"]))
    r = respondent(survey.slug)
    r.open()
    page = r.post(0, {"q_kleur": "blauw"})
    assert page.status_code == 422
    assert "Vul een antwoord in." in page.get_data(as_text=True)
    assert r.post(0, {"q_kleur": "blauw", "q_waarom": "mooi"}).status_code == 200
    page = r.post(1, {"q_kleur": "blauw", "q_waarom": "mooi"})
    assert page.status_code == 422  # page two is shown and its question required
    answers = {"q_kleur": "blauw", "q_waarom": "mooi", "q_meer": "lang verhaal"}
    assert r.post(1, answers).status_code == 200
    assert r.post(2, answers).status_code == 303
    assert stored(app, survey.id) == {
        "kleur": ["blauw"],
        "meer": ["lang verhaal"],
        "waarom": ["mooi"],
    }


def test_same_page_condition_is_rendered_with_a_note_and_live_attribute(
    make_survey, respondent
) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(survey_pages("not", ["rood"]))
    r = respondent(survey.slug)
    html = r.open().get_data(as_text=True)
    assert 'data-show-if=\'{"op": "not", "question": "kleur", "values": ["rood"]}\'' in html
    assert "Alleen beantwoorden als je bij de vraag ‘Kleur?’ niet ‘Rood’ koos." in html


def test_back_keeps_answers_and_skips_hidden_pages(make_survey, respondent) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(survey_pages("equals", ["rood"]))
    r = respondent(survey.slug)
    r.open()
    r.post(0, {"q_kleur": "groen"})
    back = r.post(2, {"q_kleur": "groen", "q_slot": "nee"}, action="terug")
    html = back.get_data(as_text=True)
    assert "<h1>Een</h1>" in html  # page two is hidden, so back goes to page one
    assert 'value="groen" checked' in html
    assert '<input type="hidden" name="q_slot" value="nee">' in html


def about_you_pages(cond: dict) -> list[dict]:
    """Age and municipality on page one; a follow-up on page two shown only when `cond` holds."""
    return [
        {
            "questions": [
                {"code": "leeftijd", "type": "age", "text": "Hoe oud ben je?", "required": True},
                {"code": "gemeente", "type": "municipality", "text": "Waar woon je?"},
            ]
        },
        {
            "questions": [
                {"code": "slot", "type": "yes_no", "text": "Klaar?"},
                {"code": "extra", "type": "short_text", "text": "Extra?", "show_if": cond},
            ]
        },
    ]


@pytest.mark.parametrize(
    ("cond", "answers", "shown"),
    [
        ({"op": "equals", "value": "GM0114"}, {"q_gemeente": ["GM0114"]}, True),
        ({"op": "equals", "value": "GM0114"}, {"q_gemeente": ["GM0106"]}, False),
        ({"op": "in", "values": ["GM0114", "GM0109"]}, {"q_gemeente": ["GM0109"]}, True),
        ({"op": "not", "values": ["GM0114"]}, {"q_gemeente": []}, True),
    ],
)
def test_conditions_on_the_municipality(make_survey, compiled, cond, answers, shown) -> None:  # type: ignore[no-untyped-def]
    defn = compiled(make_survey(about_you_pages({"question": "gemeente", **cond})))
    assert ("extra" in visible_questions(defn, {"q_leeftijd": ["17"], **answers})) is shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("13", True), (" 15 ", True), ("015", True), ("16", False), ("zestien", False)],
)
def test_conditions_on_age_compare_whole_numbers(make_survey, compiled, typed, shown) -> None:  # type: ignore[no-untyped-def]
    """E.g. a question only for under-16s, whatever way the age was typed."""
    cond = {"question": "leeftijd", "op": "in", "values": [12, "13", 14, "015"]}
    defn = compiled(make_survey(about_you_pages(cond)))
    assert defn.by_code["extra"].show_if.values == ("12", "13", "14", "15")
    assert ("extra" in visible_questions(defn, {"q_leeftijd": [typed]})) is shown


@pytest.mark.parametrize(
    ("cond", "problem"),
    [
        (
            {"question": "gemeente", "op": "equals", "value": "GM0014"},
            "'show_if': vraag 'gemeente' heeft geen antwoord 'GM0014'",  # Groningen, not Drenthe
        ),
        (
            {"question": "leeftijd", "op": "equals", "value": "zestien"},
            "'show_if': vraag 'leeftijd' is een leeftijd: gebruik hele getallen",
        ),
    ],
)
def test_conditions_on_age_and_municipality_are_checked_on_import(app, cond, problem) -> None:  # type: ignore[no-untyped-def]
    from peiling.surveys.importer import DefinitionError, build_survey

    data = {"slug": "cond-test", "title": "T", "region": "drenthe"}
    with app.app_context(), pytest.raises(DefinitionError) as info:
        build_survey(db.session, {**data, "pages": about_you_pages(cond)})
    assert any(problem in p for p in info.value.problems), info.value.problems
