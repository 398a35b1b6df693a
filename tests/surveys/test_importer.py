"""Importing questionnaires from JSON definitions, through the CLI and the service."""

from __future__ import annotations

import json

import pytest

from peiling.extensions import db
from peiling.surveys.importer import DefinitionError, build_survey
from peiling.surveys.models import QuestionType, Survey
from tests.conftest import demo_definition


def write(tmp_path, data) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "vragenlijst.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return str(path)


def test_cli_import_prints_slug_and_stores_everything(app, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["surveys", "import", write(tmp_path, demo_definition())])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "jongerenpeiling-demo"
    with app.app_context():
        survey = db.session.scalar(db.select(Survey).where(Survey.slug == "jongerenpeiling-demo"))
        assert [p.title for p in survey.pages] == ["Over jou", "De zomer", "Tot slot"]
        codes = [q.code for q in survey.questions]
        assert codes == [
            "leeftijd",
            "gemeente",
            "genoeg_te_doen",
            "organiseren",
            "activiteiten",
            "cijfer",
            "opmerking",
            "helpen",
        ]
        by_code = {q.code: q for q in survey.questions}
        assert [o.code for o in by_code["organiseren"].options] == ["ja", "nee"]
        assert by_code["activiteiten"].options[-1].is_other
        assert by_code["activiteiten"].settings == {"max_choices": 3}
        assert by_code["activiteiten"].show_if == {
            "question": "organiseren",
            "op": "equals",
            "values": ["ja"],
        }
        assert by_code["helpen"].type is QuestionType.VOLUNTEER
        assert survey.region_code == "drenthe" and (survey.age_min, survey.age_max) == (12, 25)


def test_cli_reports_invalid_json(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["surveys", "import", write(tmp_path, "{niet: json")])
    assert result.exit_code == 1
    assert "is geen geldige JSON" in result.output


def test_cli_lists_every_problem(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = demo_definition()
    data["pages"][1]["questions"][0]["options"] = [{"code": "ja"}]
    data["pages"][2]["questions"][0]["type"] = "essay"
    result = runner.invoke(args=["surveys", "import", write(tmp_path, data)])
    assert result.exit_code == 1
    assert "vraag 'genoeg_te_doen': veld 'options' moet minstens twee" in result.output
    assert "vraag 'opmerking': veld 'type' heeft onbekende waarde 'essay'" in result.output


def q(**fields):  # type: ignore[no-untyped-def]
    return {"code": "vraag", "type": "short_text", "text": "Iets?", **fields}


def one(**fields):  # type: ignore[no-untyped-def]
    """A questionnaire of one page with one question."""
    return base(pages=[{"questions": [q(**fields)]}])


def base(**fields):  # type: ignore[no-untyped-def]
    data = {"slug": "fout", "title": "T", "region": "drenthe", "pages": [{"questions": [q()]}]}
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "het bestand moet een JSON-object bevatten"),
        (base(slug="Met Spaties"), "vragenlijst: veld 'slug' mag alleen kleine letters"),
        (base(title=""), "vragenlijst: veld 'title' ontbreekt of is leeg"),
        (base(region="utrecht"), "vragenlijst: veld 'region' moet een van deze zijn"),
        (base(kind="enquete"), "vragenlijst: veld 'kind' heeft onbekende waarde 'enquete'"),
        (base(status="live"), "vragenlijst: veld 'status' heeft onbekende waarde 'live'"),
        (base(opens_at="morgen"), "vragenlijst: veld 'opens_at' is geen datum"),
        # Valid ISO 8601, but in UTC outside Python's datetime: stored, it broke every read.
        (
            base(opens_at="0001-01-01T00:00:00+01:00"),
            "vragenlijst: veld 'opens_at' moet tussen de jaren 1900 en 8999 liggen",
        ),
        (
            base(closes_at="9999-12-31T23:59:59-01:00"),
            "vragenlijst: veld 'closes_at' moet tussen de jaren 1900 en 8999 liggen",
        ),
        (base(age_min=30, age_max=20), "leeftijdsgrenzen kloppen niet"),
        # PostgreSQL refuses a NUL in any text: caught before anything is looked up or stored.
        (base(region="drenthe\x00"), "vragenlijst: veld 'region' bevat een stuurteken"),
        (one(text="Wat\x00?"), "veld 'pages[0].questions[0].text' bevat een stuurteken"),
        (
            one(
                type="single_choice",
                options=[{"code": "a", "label": "A\x01"}, {"code": "b", "label": "B"}],
            ),
            "veld 'pages[0].questions[0].options[0].label' bevat een stuurteken",
        ),
        (base(pages=[{"title": "T" * 201, "questions": [q()]}]), "'title' is langer dan 200"),
        (base(colour="red"), "vragenlijst: onbekend veld 'colour'"),
        (base(pages=[]), "veld 'pages' moet een lijst met minstens één pagina zijn"),
        (base(pages=[{"questions": []}]), "pagina 1: veld 'questions' moet een lijst"),
        (one(code="Vraag 1"), "pagina 1, vraag 1: veld 'code'"),
        (base(pages=[{"questions": [q(), q()]}]), "vraag 'vraag': deze code komt twee keer voor"),
        (one(text=""), "vraag 'vraag': veld 'text' ontbreekt"),
        (one(colour=1), "vraag 'vraag': onbekend veld 'colour'"),
        (one(min=1), "vraag 'vraag': veld 'min' past niet bij type"),
        (one(type="number", min=5, max=1), "'min' is groter"),
        (one(type="number", max="tien"), "'max' moet een getal"),
        (
            one(
                type="multiple_choice",
                max_choices=0,
                options=[{"code": "a", "label": "A"}, {"code": "b", "label": "B"}],
            ),
            "vraag 'vraag': 'max_choices' moet een heel getal van minstens 1 zijn",
        ),
        (
            one(
                type="single_choice",
                options=[{"code": "a", "label": "A"}, {"code": "a", "label": "B"}],
            ),
            "vraag 'vraag': antwoordoptie 'a' komt twee keer voor",
        ),
        (
            one(
                type="single_choice",
                options=[{"code": "a", "label": ""}, {"code": "b", "label": "B"}],
            ),
            "vraag 'vraag': antwoordoptie 1 moet een 'code'",
        ),
        (
            one(type="yes_no", options=[]),
            "type 'yes_no' heeft geen eigen antwoordopties",
        ),
        (one(other=True), "'other' (anders, namelijk) kan alleen"),
        (
            base(
                pages=[
                    {
                        "questions": [
                            q(show_if={"question": "later", "op": "equals", "value": "x"}),
                            q(code="later"),
                        ]
                    }
                ]
            ),
            "vraag 'vraag': 'show_if' verwijst naar vraag 'later', die niet eerder",
        ),
        (
            base(
                pages=[
                    {
                        "questions": [
                            q(code="a", type="yes_no"),
                            q(show_if={"question": "a", "op": "bigger", "value": "ja"}),
                        ]
                    }
                ]
            ),
            "onbekende 'op' 'bigger'",
        ),
        (
            base(
                pages=[
                    {
                        "questions": [
                            q(code="a", type="yes_no"),
                            q(show_if={"question": "a", "op": "equals", "value": "misschien"}),
                        ]
                    }
                ]
            ),
            "vraag 'a' heeft geen antwoord 'misschien'",
        ),
        (
            base(
                pages=[
                    {
                        "questions": [
                            q(code="a", type="yes_no"),
                            q(show_if={"question": "a", "op": "equals", "values": ["ja", "nee"]}),
                        ]
                    }
                ]
            ),
            "'show_if' heeft één 'value' nodig",
        ),
        (
            base(
                pages=[
                    {"questions": [q(code="a")]},
                    {
                        "show_if": {"question": "a", "op": "equals", "value": "x"},
                        "questions": [q(code="b")],
                    },
                ]
            ),
            "pagina 2: 'show_if' kan niet kijken naar vraag 'a' van type 'short_text' (wel naar "
            "keuzevragen, leeftijd en gemeente)",
        ),
    ],
)
def test_definition_errors_name_the_question_and_field(app, data, problem) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), pytest.raises(DefinitionError) as info:
        build_survey(db.session, data)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_duplicate_slug_is_refused(app, make_survey) -> None:  # type: ignore[no-untyped-def]
    make_survey(slug="bestaat")
    with app.app_context(), pytest.raises(DefinitionError) as info:
        build_survey(db.session, base(slug="bestaat"))
    assert info.value.problems == ["vragenlijst: er bestaat al een vragenlijst met slug 'bestaat'"]
