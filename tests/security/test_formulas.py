"""Formula injection: no text a respondent or staff member typed becomes a formula in any
Excel or CSV file Peiling hands out, and the text stays readable."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa

from peiling.extensions import db
from peiling.formulas import FORMULA_STARTS
from peiling.geo import Municipality
from tests.analysis.test_dashboard import store
from tests.analysis.test_exports import wait_until_done
from tests.auth.fixtures import csrf_of

# Every way a spreadsheet program may start a formula or a DDE call from a cell's text.
PAYLOADS = [
    "=1+2",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "＝1+2",  # full-width equals sign, which Excel in an East Asian locale takes as "="
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x","y")',
]


def assert_no_formula(content: bytes, where: str) -> set[str]:
    """Every cell of an .xlsx is a value (no <f> in the sheet XML); returns its texts."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    for name in archive.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            xml = archive.read(name).decode()
            assert not re.search(r"<(\w+:)?f[ >/]", xml), f"{where}: formula in {name}"
        if name.startswith("xl/charts/"):  # a chart may only refer to our own table cells
            for ref in re.findall(r"<c:f>(.*?)</c:f>", archive.read(name).decode()):
                assert re.fullmatch(r"Tabellen!\$[A-Z]+\$\d+(:\$[A-Z]+\$\d+)?", ref), ref
    texts = set()
    for sheet in openpyxl.load_workbook(io.BytesIO(content)):  # keeps formulas as formulas
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (where, sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    return texts


def assert_readable(texts: set[str], payloads: list[str], where: str) -> None:
    """Each payload is in the file as text (a leading apostrophe allowed)."""
    plain = {t.strip().lstrip("'").strip() for t in texts}
    for payload in payloads:
        assert payload.strip() in plain, (where, payload)


def fetch(client, url: str) -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(url)
    try:
        assert response.status_code == 200, (url, response.status_code)
        return response.data
    finally:
        response.close()


@pytest.fixture
def injected(app, make_survey):  # type: ignore[no-untyped-def]
    """A survey whose texts (staff) and answers (respondents) are all formula payloads."""
    options = [{"code": f"o{n}", "label": p} for n, p in enumerate(PAYLOADS)]
    survey = make_survey(
        title="=1+1 titel",
        introduction="=HYPERLINK(\"http://x\",\"y\")",
        privacy_statement="@SUM(A1)",
        pages=[{"title": "+pagina", "questions": [
            {"code": "gemeente", "type": "municipality", "text": "Gemeente?"},
            {"code": "keuze", "type": "single_choice", "text": "=cmd|' /C calc'!A0",
             "help": "-2+3", "other": True, "options": options},
            {"code": "kort", "type": "short_text", "text": "\t=1+1"},
            {"code": "lang", "type": "long_text", "text": "＝1+2"},
            {"code": "helpen", "type": "volunteer", "text": "Helpen?"},
        ]}],
    )  # fmt: skip
    forms = [
        {"q_gemeente": ["GM0114"], "q_keuze": ["anders"], "q_keuze__anders": [payload],
         "q_kort": [payload], "q_lang": [payload], "q_helpen": ["ja"],
         "q_helpen__naam": [payload], "q_helpen__email": ["a@b.nl"],
         "q_helpen__toestemming": ["ja"]}
        for payload in PAYLOADS
    ] * 2  # twice each: open answers show only texts given by enough respondents  # fmt: skip
    store(app, survey, forms)
    return survey


def test_every_analysis_workbook_keeps_text_as_text(injected, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    slug = injected.slug
    files = {
        "region": fetch(client, f"/analysis/{slug}/export.xlsx"),
        "municipality": fetch(client, f"/analysis/{slug}/export/GM0114.xlsx"),
    }
    archive = zipfile.ZipFile(io.BytesIO(fetch(client, f"/analysis/{slug}/export.zip")))
    files |= {f"zip:{name}": archive.read(name) for name in archive.namelist()}
    csrf = csrf_of(client.get(f"/analysis/{slug}/").get_data(as_text=True))
    started = client.post(f"/analysis/{slug}/export/achtergrond", data={"csrf_token": csrf})
    html = wait_until_done(client, started.headers["Location"])
    link = re.search(r'href="([^"]+/bestand)"', html)
    assert link, html
    files["background"] = fetch(client, link.group(1))
    assert f"zip:{slug}-GM0114.xlsx" in files
    for where, content in files.items():
        texts = assert_no_formula(content, where)
        if where in ("region", "background") or where.endswith("GM0114.xlsx"):
            # Answers, volunteers' names, question texts and labels, and the title.
            assert_readable(texts, [*PAYLOADS, "=1+1 titel"], where)


def test_designer_xlsform_export_keeps_text_as_text(app, injected, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    content = fetch(client, f"/ontwerp/{injected.slug}/vragenlijst.xlsx")
    texts = assert_no_formula(content, "xlsform")
    staff_texts = ["=1+1 titel", '=HYPERLINK("http://x","y")', "@SUM(A1)", "+pagina",
                   "=cmd|' /C calc'!A0", "-2+3", "\t=1+1", "＝1+2", *PAYLOADS]  # fmt: skip
    assert_readable(texts, staff_texts, "xlsform")
    # ...and it still reads back to the same texts (an XLSForm is also an import format).
    from peiling.surveys.xlsform import read_xlsform

    again = read_xlsform(content, "terug.xlsx")
    question = again["pages"][0]["questions"][1]
    assert question["text"] == "=cmd|' /C calc'!A0" and question["help"] == "-2+3"
    assert [o["label"] for o in question["options"]] == [p.strip() for p in PAYLOADS]


def guarded(value: str) -> bool:
    """A CSV field a spreadsheet program reads as text: it starts with no formula sign."""
    return not value or value[0] not in FORMULA_STARTS


@pytest.fixture
def hostile_place(app):  # type: ignore[no-untyped-def]
    """Groningen's municipality name replaced by a DDE payload (reference data can be
    reloaded from outside files), restored afterwards."""
    with app.app_context():
        place = db.session.get(Municipality, "GM0014")
        original = place.name
        place.name = payload = "=cmd|' /C calc'!A0"
        db.session.commit()
    yield payload
    with app.app_context():
        db.session.execute(
            sa.update(Municipality).where(Municipality.code == "GM0014").values(name=original)
        )
        db.session.commit()


def test_panel_code_files_keep_text_as_text(app, codes, panel, hostile_place, logged_in) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    base = f"/panel/{panel.slug}/codes/1"
    texts = assert_no_formula(fetch(client, base + ".xlsx"), "codes.xlsx")
    assert_readable(texts, [hostile_place], "codes.xlsx")
    content = fetch(client, base + ".csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))
    assert len(rows) == 6
    for row in rows:
        for value in row:
            assert guarded(value), (row, value)
    assert "'" + hostile_place in {row[1] for row in rows}  # readable, behind a quote


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_guard_disarms_every_payload(payload: str) -> None:
    from peiling.formulas import csv_text

    value = csv_text(payload)
    assert guarded(value) and value.lstrip("'") == payload
    assert csv_text("gewone tekst") == "gewone tekst" and csv_text("") == ""
