"""Safe editing: what the designer refuses once answers exist, and what it allows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from peiling.designer import services
from peiling.designer.services import EditRefused
from peiling.extensions import db
from peiling.surveys.exporter import export_definition
from peiling.surveys.importer import build_survey
from peiling.surveys.models import Option, Question, QuestionType, Survey, SurveyStatus
from tests.conftest import count_rows, demo_definition
from tests.surveys.test_form import complete


def load(survey_id: int) -> Survey:
    return db.session.get(Survey, survey_id)


def question(survey: Survey, code: str) -> Question:
    return next(q for q in survey.questions if q.code == code)


def option(survey: Survey, code: str, option_code: str) -> Option:
    return next(o for o in question(survey, code).options if o.code == option_code)


def counts_by_code(survey_id: int) -> dict[tuple[str, str], int]:
    """Answers counted by question and option *code*: what the answers mean."""
    rows = db.session.execute(
        sa.text(
            "SELECT q.code, o.code, count(*) FROM answer a JOIN question q ON q.id = a.question_id"
            " JOIN question_option o ON o.id = a.option_id WHERE a.survey_id = :s"
            " GROUP BY q.code, o.code"
        ),
        {"s": survey_id},
    )
    return {(q, o): n for q, o, n in rows}


@pytest.fixture
def answered(app, demo_survey, respondent):  # type: ignore[no-untyped-def]
    """The demo poll with one complete response (sport, muziek, ... ; helpen = nee)."""
    assert complete(respondent(demo_survey.slug)).status_code == 303
    return demo_survey


def _delete_answered_question(s: Survey) -> None:
    services.delete_question(db.session, question(s, "activiteiten"))


def _delete_chosen_option(s: Survey) -> None:
    services.delete_option(db.session, option(s, "activiteiten", "sport"))


def _retype_answered_question(s: Survey) -> None:
    services.change_type(db.session, question(s, "cijfer"), QuestionType.NUMBER)


def _delete_answered_page(s: Survey) -> None:
    services.delete_page(db.session, s.pages[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_delete_answered_question, "heeft al antwoorden"),
        (_delete_chosen_option, "is al gekozen"),
        (_retype_answered_question, "soort vraag"),
        (_delete_answered_page, "heeft al antwoorden"),
    ],
)
def test_changes_that_would_change_answers_are_refused(app, answered, change, message) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        survey = load(answered.id)
        revision = survey.revision
        with pytest.raises(EditRefused, match=message):
            change(survey)
        db.session.rollback()
        assert load(answered.id).revision == revision
    assert count_rows(app, "question") == 8 and count_rows(app, "answer") == 10


def test_a_question_a_condition_depends_on_cannot_go(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        survey = load(demo_survey.id)
        with pytest.raises(EditRefused, match="vraag 'activiteiten' hangt ervan af"):
            services.delete_question(db.session, question(survey, "organiseren"))
        with pytest.raises(EditRefused, match="gebruikt haar"):
            services.delete_option(db.session, option(survey, "organiseren", "ja"))


def test_allowed_edits_keep_the_meaning_of_answers(app, answered, compiled) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        before = counts_by_code(answered.id)
        survey = load(answered.id)
        revision = survey.revision
        services.reword_question(
            db.session, question(survey, "activiteiten"), "Wat wil je doen?", "Kies er een paar."
        )
        services.relabel_option(
            db.session, option(survey, "activiteiten", "sport"), "Sporten en bewegen"
        )
        unanswered = next(
            o for o in question(survey, "activiteiten").options if o.code == "cultuur"
        )
        services.delete_option(db.session, unanswered)  # never chosen: may go
        db.session.commit()
        survey = load(answered.id)
        assert survey.revision != revision  # workers will rebuild their cached definition
        assert question(survey, "activiteiten").text == "Wat wil je doen?"
        assert "cultuur" not in {o.code for o in question(survey, "activiteiten").options}
        assert counts_by_code(answered.id) == before  # every answer means what it meant
    defn = compiled(answered)
    assert defn.by_code["activiteiten"].option("sport").label == "Sporten en bewegen"


def test_unanswered_question_can_change_type_and_go(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        survey = load(demo_survey.id)
        services.change_type(db.session, question(survey, "opmerking"), QuestionType.SHORT_TEXT)
        services.delete_question(db.session, question(survey, "opmerking"))
        db.session.commit()
        assert "opmerking" not in {q.code for q in load(demo_survey.id).questions}


def test_publish_close_reopen(app, make_survey) -> None:  # type: ignore[no-untyped-def]
    draft = make_survey(status="draft")
    with app.app_context():
        survey = load(draft.id)
        services.publish(db.session, survey)
        assert survey.status is SurveyStatus.OPEN
        services.close(survey)
        assert survey.status is SurveyStatus.CLOSED
        services.reopen(db.session, survey)
        assert survey.status is SurveyStatus.OPEN
        survey.closes_at = sa.func.now()  # type: ignore[assignment]
        db.session.commit()
        survey = load(draft.id)
        with pytest.raises(EditRefused, match="sluitingsdatum"):
            services.publish(db.session, survey)


def test_json_definition_round_trips(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    """Export, import and export again gives the same definition: nothing is lost."""
    with app.app_context():
        exported = export_definition(load(demo_survey.id))
        assert [q["code"] for p in exported["pages"] for q in p["questions"]] == [
            q["code"] for p in demo_definition()["pages"] for q in p["questions"]
        ]
        activities = exported["pages"][1]["questions"][2]
        assert activities["other"] is True and activities["max_choices"] == 3
        assert activities["show_if"] == {
            "question": "organiseren",
            "op": "equals",
            "values": ["ja"],
        }
        rebuilt = build_survey(db.session, {**exported, "slug": "rond-kopie"})
        db.session.add(rebuilt)
        db.session.flush()
        assert export_definition(rebuilt) == {**exported, "slug": "rond-kopie"}
        db.session.rollback()


def test_duplicate_is_a_draft_without_answers(app, answered) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        copy = services.duplicate(db.session, load(answered.id), "jongerenpeiling-2027")
        db.session.commit()
        assert copy.status is SurveyStatus.DRAFT and copy.title.endswith("(kopie)")
        assert [q.code for q in copy.questions] == [q.code for q in load(answered.id).questions]
        assert services.response_count(db.session, copy) == 0
        assert (
            question(copy, "activiteiten").show_if
            == question(load(answered.id), "activiteiten").show_if
        )


def edited(survey_id: int, change) -> dict:  # type: ignore[no-untyped-def]
    data = export_definition(load(survey_id))
    change(data)
    return data


def test_apply_definition_keeps_ids_of_kept_questions_and_options(app, answered) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        survey = load(answered.id)
        ids = {q.code: q.id for q in survey.questions}
        sport = option(survey, "activiteiten", "sport").id
        before = counts_by_code(answered.id)

        def change(data: dict) -> None:
            summer = data["pages"][1]["questions"]
            summer[2]["text"] = "Wat wil je het liefst doen?"
            summer[2]["options"] = [o for o in summer[2]["options"] if o["code"] != "gamen"]
            summer[2]["options"].append({"code": "koken", "label": "Samen koken"})
            summer.insert(0, summer.pop(3))  # the grade question moves to the top
            extra = {"code": "nieuw", "type": "short_text", "text": "Nog iets?"}
            data["pages"].append({"title": "Extra", "questions": [extra]})

        services.apply_definition(db.session, survey, edited(answered.id, change))
        db.session.commit()
        survey = load(answered.id)
        assert {q.code: q.id for q in survey.questions if q.code != "nieuw"} == ids
        assert option(survey, "activiteiten", "sport").id == sport
        assert [o.code for o in question(survey, "activiteiten").options][-2:] == [
            "anders",
            "koken",
        ] or ("koken" in {o.code for o in question(survey, "activiteiten").options})
        assert "gamen" not in {o.code for o in question(survey, "activiteiten").options}
        assert [q.code for q in survey.pages[1].questions][0] == "cijfer"
        assert len(survey.pages) == 4 and survey.pages[3].questions[0].code == "nieuw"
        assert counts_by_code(answered.id) == before


def test_apply_definition_refuses_what_changes_answers(app, answered) -> None:  # type: ignore[no-untyped-def]
    def drop_question(data: dict) -> None:
        data["pages"][1]["questions"] = [
            q for q in data["pages"][1]["questions"] if q["code"] != "cijfer"
        ]

    def drop_option(data: dict) -> None:
        q = data["pages"][1]["questions"][2]
        q["options"] = [o for o in q["options"] if o["code"] != "sport"]

    def retype(data: dict) -> None:
        data["pages"][2]["questions"][0]["type"] = "short_text"

    with app.app_context():
        refused = [
            (drop_question, "heeft al antwoorden"),
            (drop_option, "al gekozen"),
            (retype, "soort vraag"),
        ]
        for change, message in refused:
            survey = load(answered.id)
            revision = survey.revision
            with pytest.raises(EditRefused, match=message):
                services.apply_definition(db.session, survey, edited(answered.id, change))
            db.session.rollback()
            assert load(answered.id).revision == revision
        assert count_rows(app, "question") == 8


def test_apply_definition_reports_invalid_definitions(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    from peiling.surveys.importer import DefinitionError

    def bad(data: dict) -> None:
        data["pages"][0]["questions"][0]["type"] = "kleur"

    with app.app_context(), pytest.raises(DefinitionError) as info:
        services.apply_definition(db.session, load(demo_survey.id), edited(demo_survey.id, bad))
    assert any("type" in p for p in info.value.problems)
