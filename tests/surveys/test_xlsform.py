"""XLSForm: forms written for the tests import as expected or are refused with the cell."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from peiling.auth.models import AuditEvent
from peiling.extensions import db
from peiling.surveys.exporter import export_definition
from peiling.surveys.importer import DefinitionError, build_survey
from peiling.surveys.models import Survey
from peiling.surveys.xlsform import read_xlsform
from peiling.surveys.xlsform_writer import write_xlsform
from tests.auth.fixtures import csrf_of

SURVEY_HEADER = [
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "appearance",
    "parameters",
]


def workbook(
    survey: list[list[Any]],
    choices: list[list[Any]] = (),
    settings: dict | None = None,
    header: list[str] | None = None,
    choice_header: list[str] | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(header or SURVEY_HEADER)
    for row in survey:
        sheet.append(row)
    if choices:
        ch = book.create_sheet("choices")
        ch.append(choice_header or ["list_name", "name", "label"])
        for row in choices:
            ch.append(row)
    if settings:
        st = book.create_sheet("settings")
        st.append(list(settings))
        st.append(list(settings.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FRUIT = [["fruit", "appel", "Appel"], ["fruit", "peer", "Peer"], ["fruit", "kiwi", "Kiwi"]]


def questions(data: dict) -> dict[str, dict]:
    return {q["code"]: q for page in data["pages"] for q in page["questions"]}


def test_every_supported_type() -> None:
    content = workbook(
        [
            ["select_one fruit", "lievelings", "Lievelingsfruit?", "Kies er één", "yes"],
            ["select_multiple fruit or_other", "meer", "Wat nog meer?"],
            ["integer", "dagen", "Hoeveel dagen?", "", "", "", ". >= 0 and . <= 31"],
            ["decimal", "uren", "Hoeveel uur?"],
            ["range", "schaal", "Hoe blij?", "", "", "", "", "", "start=1 end=5 step=1"],
            ["text", "naam", "Bijnaam?"],
            ["text", "verhaal", "Vertel", "", "", "", "", "multiline"],
        ],
        FRUIT,
        {"form_id": "fruit_peiling", "form_title": "Fruit"},
    )
    data = read_xlsform(content)
    assert data["slug"] == "fruit-peiling" and data["title"] == "Fruit"
    q = questions(data)
    assert q["lievelings"] == {
        "code": "lievelings",
        "text": "Lievelingsfruit?",
        "type": "single_choice",
        "options": [
            {"code": "appel", "label": "Appel"},
            {"code": "peer", "label": "Peer"},
            {"code": "kiwi", "label": "Kiwi"},
        ],
        "help": "Kies er één",
        "required": True,
    }
    assert q["meer"]["type"] == "multiple_choice" and q["meer"]["other"] is True
    assert (q["dagen"]["type"], q["dagen"]["min"], q["dagen"]["max"]) == ("number", 0, 31)
    assert q["uren"]["decimal"] is True
    assert (q["schaal"]["min"], q["schaal"]["max"]) == (1, 5)
    assert q["naam"]["type"] == "short_text" and q["verhaal"]["type"] == "long_text"


def test_groups_become_pages() -> None:
    data = read_xlsform(
        workbook(
            [
                ["text", "los", "Vooraf"],
                ["begin_group", "deel1", "Over jou"],
                ["integer", "leeftijd_jaren", "Leeftijd?"],
                ["end_group"],
                ["begin_group", "deel2", "Je mening"],
                ["text", "mening", "Mening?"],
                ["end_group"],
            ]
        )
    )
    assert [(p.get("title"), [q["code"] for q in p["questions"]]) for p in data["pages"]] == [
        (None, ["los"]),
        ("Over jou", ["leeftijd_jaren"]),
        ("Je mening", ["mening"]),
    ]


def test_language_columns_take_the_dutch_label() -> None:
    header = ["type", "name", "label::English (en)", "label::Nederlands (nl)"]
    choices = [["jn", "ja", "Yes", "Ja"], ["jn", "nee", "No", "Nee"]]
    data = read_xlsform(
        workbook(
            [["select_one jn", "fiets", "Do you cycle?", "Fiets je?"]],
            choices,
            header=header,
            choice_header=["list_name", "name", "label::English (en)", "label::Nederlands (nl)"],
        )
    )
    q = questions(data)["fiets"]
    assert q["text"] == "Fiets je?" and [o["label"] for o in q["options"]] == ["Ja", "Nee"]
    # The English columns become the questionnaire's English translation.
    assert data["languages"] == ["nl", "en"]
    assert q["translations"] == {"en": {"text": "Do you cycle?"}}
    assert [o["translations"] for o in q["options"]] == [
        {"en": {"label": "Yes"}},
        {"en": {"label": "No"}},
    ]


def test_language_columns_for_groups_hints_and_the_title(app) -> None:  # type: ignore[no-untyped-def]
    header = ["type", "name", "label::Nederlands (nl)", "label::English (en)", "hint",
              "hint::English (en)"]  # fmt: skip
    data = read_xlsform(
        workbook(
            [
                ["begin_group", "g", "Over jou", "About you"],
                ["integer", "jaren", "Leeftijd?", "Age?", "In jaren", "In years"],
                ["end_group"],
            ],
            header=header,
            settings={
                "form_id": "talen",
                "form_title": "Talen",
                "form_title::English (en)": "Languages",
            },
        )
    )
    page = data["pages"][0]
    assert page["title"] == "Over jou" and page["translations"] == {"en": {"title": "About you"}}
    q = page["questions"][0]
    assert (q["text"], q["help"]) == ("Leeftijd?", "In jaren")
    assert q["translations"] == {"en": {"text": "Age?", "help": "In years"}}
    assert data["title"] == "Talen" and data["translations"] == {"en": {"title": "Languages"}}
    with app.app_context():
        survey = build_survey(db.session, data)  # and the importer accepts all of it
        assert survey.languages == ["nl", "en"]


def test_ukrainian_and_arabic_columns_by_their_code(app) -> None:  # type: ignore[no-untyped-def]
    header = ["type", "name", "label", "label::Ukrainian (uk)", "label::العربية (ar)"]
    data = read_xlsform(
        workbook(
            [["select_one jn", "fiets", "Fiets je?", "Ти їздиш на велосипеді?",
              "هل تركب الدراجة؟"]],
            [["jn", "ja", "Ja", "Так", "نعم"], ["jn", "nee", "Nee", "Ні", "لا"]],
            header=header,
            choice_header=["list_name", "name", "label", "label::Українська (uk)",
                           "label::Arabic (ar)"],
            settings={"form_id": "fietsen", "form_title": "Fietsen"},
        )
    )  # fmt: skip
    q = questions(data)["fiets"]
    assert q["text"] == "Fiets je?"
    assert data["languages"][0] == "nl" and sorted(data["languages"]) == ["ar", "nl", "uk"]
    assert q["translations"] == {
        "uk": {"text": "Ти їздиш на велосипеді?"},
        "ar": {"text": "هل تركب الدراجة؟"},
    }
    assert q["options"][0]["translations"] == {"uk": {"label": "Так"}, "ar": {"label": "نعم"}}
    with app.app_context():
        assert sorted(build_survey(db.session, data).languages) == ["ar", "nl", "uk"]


def test_a_language_peiling_cannot_offer_is_reported_with_its_column() -> None:
    header = ["type", "name", "label::Nederlands (nl)", "label::Français (fr)"]
    with pytest.raises(DefinitionError) as error:
        read_xlsform(workbook([["text", "naam", "Naam?", "Nom?"]], header=header))
    assert error.value.problems == [
        "blad 'survey', kolom D: taal 'français (fr)' kan Peiling niet aanbieden "
        "(wel: nl, en, uk, ar)"
    ]


def test_translated_form_exports_with_a_column_per_language(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    with app.app_context():
        content = write_xlsform(export_definition(db.session.get(Survey, demo_survey.id)))
    book = load_workbook(io.BytesIO(content))
    header = [c.value for c in book["survey"][1]]
    assert header[2:6] == [
        "label::Nederlands (nl)",
        "label::English (en)",
        "hint::Nederlands (nl)",
        "hint::English (en)",
    ]
    rows = {r[1]: r for r in book["survey"].iter_rows(min_row=2, values_only=True)}
    assert rows["leeftijd"][2:4] == ("Hoe oud ben je?", "How old are you?")


@pytest.mark.parametrize(
    ("relevant", "expected"),
    [
        ("${lievelings} = 'appel'", {"op": "equals", "values": ["appel"]}),
        ("selected(${lievelings}, 'peer')", {"op": "equals", "values": ["peer"]}),
        (
            "${lievelings} = 'appel' or ${lievelings} = 'kiwi'",
            {"op": "in", "values": ["appel", "kiwi"]},
        ),
        ("not(selected(${lievelings}, 'kiwi'))", {"op": "not", "values": ["kiwi"]}),
        ("${lievelings} != 'peer'", {"op": "not", "values": ["peer"]}),
    ],
)
def test_relevant_expressions(relevant: str, expected: dict) -> None:
    data = read_xlsform(
        workbook(
            [
                ["select_one fruit", "lievelings", "Fruit?"],
                ["text", "waarom", "Waarom?", "", "", relevant],
            ],
            FRUIT,
        )
    )
    assert questions(data)["waarom"]["show_if"] == {"question": "lievelings", **expected}


# More digits than int() reads (4,300): not a count or length anybody means.
NINES = "9" * 4400


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["geopoint", "plek", "Waar ben je?"]], "blad 'survey', rij 2, kolom A: type 'geopoint'"),
        ([["date", "dag", "Welke dag?"]], "rij 2, kolom A: type 'date'"),
        (
            [
                ["select_one fruit", "a", "A?"],
                ["text", "b", "B?", "", "", "${a} = 'appel' and ${a} = 'peer'"],
            ],
            "blad 'survey', rij 3, kolom F: de voorwaarde",
        ),
        (
            [["select_one groente", "g", "Groente?"]],
            "keuzelijst 'groente' staat niet op blad 'choices'",
        ),
        (
            [["text", "t", "T?", "", "", "", ". > 3"]],
            "rij 2, kolom G: '. > 3' kan Peiling niet overnemen",
        ),
        (
            [["select_multiple fruit", "f", "F?", "", "", "", f"count-selected(.) <= {NINES}"]],
            "rij 2, kolom G: 'count-selected(.) <= 999",
        ),
        (
            [["text", "t", "T?", "", "", "", f"string-length(.) <= {NINES}"]],
            "rij 2, kolom G: 'string-length(.) <= 999",
        ),
    ],
)
def test_what_cannot_be_mapped_is_reported_by_cell(rows: list, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        read_xlsform(workbook(rows, FRUIT))
    assert any(message in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "het bestand is leeg"),
        (b"PK\x03\x04 dit is geen echte zip", "geen geldig Excel-bestand"),
        (b"type,name,label\ntext,a,A\n", "geen geldig Excel-bestand"),
        (os.urandom(5 * 1024 * 1024), "groter dan 2 MB"),
    ],
)
def test_corrupt_empty_and_huge_files_get_a_clear_error(content: bytes, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        read_xlsform(content)
    assert message in info.value.problems[0]


def test_a_zip_bomb_is_not_unpacked() -> None:
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (30 * 1024 * 1024))
    assert len(out.getvalue()) < 2 * 1024 * 1024
    with pytest.raises(DefinitionError, match="te groot"):
        read_xlsform(out.getvalue())


def test_html_in_labels_is_shown_as_text(app, client) -> None:  # type: ignore[no-untyped-def]
    data = read_xlsform(
        workbook(
            [["text", "x", "<script>alert(1)</script> Hoi"]],
            settings={"form_id": "script-test", "form_title": "T"},
        )
    )
    with app.app_context():
        survey = build_survey(db.session, {**data, "status": "open"})
        db.session.add(survey)
        db.session.commit()
    html = client.get("/p/script-test").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hoi" in html and "<script>alert" not in html


def test_exported_xlsform_reads_back_to_the_same_questionnaire(app, demo_survey) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        original = export_definition(db.session.get(Survey, demo_survey.id))
        back = read_xlsform(write_xlsform(original))
        rebuilt = build_survey(db.session, {**back, "slug": "terug", "status": original["status"]})
        db.session.add(rebuilt)
        db.session.flush()
        again = export_definition(rebuilt)
        db.session.rollback()
    for key in ("slug", "age_min", "age_max", "kind"):
        again.pop(key), original.pop(key)
    assert again == original


def test_cli_and_upload_page_import_xlsx(app, runner, logged_in, tmp_path) -> None:  # type: ignore[no-untyped-def]
    content = workbook([["select_one fruit", "f", "Fruit?"]], FRUIT, {"form_id": "via-cli"})
    path = tmp_path / "fruit.xlsx"
    path.write_bytes(content)
    result = runner.invoke(args=["surveys", "import", str(path)])
    assert result.exit_code == 0 and result.output.strip() == "via-cli"
    client = logged_in("researcher")
    csrf = csrf_of(client.get("/ontwerp/importeren").get_data(as_text=True))
    upload = workbook([["select_one fruit", "f", "Fruit?"]], FRUIT, {"form_id": "via-upload"})
    done = client.post(
        "/ontwerp/importeren",
        data={"csrf_token": csrf, "bestand": (io.BytesIO(upload), "f.xlsx")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302 and done.headers["Location"] == "/ontwerp/via-upload"
    bad = client.post(
        "/ontwerp/importeren",
        data={"csrf_token": csrf, "bestand": (io.BytesIO(b"rommel"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "geen geldig Excel-bestand" in bad.get_data(as_text=True)
    exported = client.get("/ontwerp/via-upload/vragenlijst.xlsx")
    assert exported.status_code == 200 and read_xlsform(exported.data)["slug"] == "via-upload"
    as_json = client.get("/ontwerp/via-upload/vragenlijst.json")
    assert as_json.mimetype == "application/json" and as_json.json["slug"] == "via-upload"
    assert client.get("/ontwerp/via-upload/vragenlijst.csv").status_code == 404
    with app.app_context():
        events = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.target, AuditEvent.detail).where(
                AuditEvent.action.in_(["imported", "exported"])
            )
        ).all()
    assert {(a, t, d.get("format")) for a, t, d in events} == {
        ("imported", "via-upload", None),
        ("exported", "via-upload", "xlsx"),
        ("exported", "via-upload", "json"),
    }
