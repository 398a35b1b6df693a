"""Excel workbooks: the figures are the truth, scope and permission hold, text stays text."""

from __future__ import annotations

import io
from collections import Counter

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from peiling.auth.models import AuditEvent
from peiling.extensions import db
from peiling.geo import AMSTERDAM
from tests.analysis.test_dashboard import short_form, store
from tests.analysis.test_results import generated  # noqa: F401 - the fixture

SHEETS = ["Samenvatting", "Tabellen", "Grafieken", "Open antwoorden", "Vrijwilligers", "Data",
          "Codeboek"]  # fmt: skip


def download(client, url: str) -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(url)
    try:
        assert response.status_code == 200, response.status_code
        assert response.headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        return response.data
    finally:
        response.close()  # closes the file being sent, and removes it


def test_region_workbook_holds_the_true_figures(app, generated, logged_in) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survey, posted = generated
    content = download(logged_in("researcher"), f"/analysis/{survey.slug}/export.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(content), read_only=True).sheetnames == SHEETS
    tables = pd.read_excel(io.BytesIO(content), sheet_name="Tabellen")
    enough = tables[tables["Code"] == "genoeg_te_doen"].set_index("Antwoord")
    truth = Counter(f["q_genoeg_te_doen"][0] for f, _s, _w in posted)
    labels = {"ruim": "Ja, meer dan genoeg", "genoeg": "Ja, genoeg",
              "onvoldoende": "Nee, te weinig", "weet_niet": "Weet ik niet"}  # fmt: skip
    for code, label in labels.items():
        assert enough.loc[label, "Totaal: aantal"] == truth[code]
        # A number (Excel keeps 15 significant digits), not text.
        assert enough.loc[label, "Totaal: %"] == pytest.approx(truth[code] / 300, rel=1e-12)
    emmen = Counter(
        f["q_genoeg_te_doen"][0] for f, _s, _w in posted if f["q_gemeente"] == ["GM0114"]
    )
    assert enough.loc["Nee, te weinig", "Emmen: aantal"] == emmen["onvoldoende"]

    data = pd.read_excel(io.BytesIO(content), sheet_name="Data")
    assert len(data) == 300
    chosen = [labels[f["q_genoeg_te_doen"][0]] for f, _s, _w in posted]
    assert Counter(data["genoeg_te_doen"]) == Counter(chosen)
    sport = sum(1 for f, _s, _w in posted if "sport" in f.get("q_activiteiten", []))
    assert data["activiteiten: Sport en bewegen"].fillna(0).sum() == sport
    assert data["cijfer"].sum() == sum(int(f["q_cijfer"][0]) for f, _s, _w in posted)
    # Each row's moment, in Dutch time, and its source (blank where there was none).
    local = [w.astimezone(AMSTERDAM).replace(tzinfo=None) for _f, _s, w in posted]
    assert list(data["Ingevuld op"].dt.round("s")) == [pd.Timestamp(t) for t in local]
    assert [s if isinstance(s, str) else None for s in data["Bron"]] == [s for _f, s, _w in posted]


def test_municipality_workbook_and_the_province(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    store(app, demo_survey, [short_form("16", "GM0114")] * 6 + [short_form("17", "GM0106")] * 7)
    url = f"/analysis/{demo_survey.slug}/export/GM0114.xlsx"
    everyone = pd.read_excel(io.BytesIO(download(logged_in("researcher"), url)), "Tabellen")
    assert {"Emmen: aantal", "Provincie: aantal"} <= set(everyone.columns)
    row = everyone[(everyone["Code"] == "genoeg_te_doen") & (everyone["Antwoord"] == "Ja, genoeg")]
    assert (row["Emmen: aantal"].item(), row["Provincie: aantal"].item()) == (6, 13)

    emmen = logged_in("analyst_emmen")
    own = pd.read_excel(io.BytesIO(download(emmen, url)), sheet_name=None)
    assert "Provincie: aantal" not in own["Tabellen"].columns  # nothing beyond her scope
    assert set(own["Data"]["Gemeente"]) == {"Emmen"}
    refused = emmen.get(f"/analysis/{demo_survey.slug}/export/GM0106.xlsx")
    assert refused.status_code == 404
    region = pd.read_excel(
        io.BytesIO(download(emmen, f"/analysis/{demo_survey.slug}/export.xlsx")), sheet_name=None
    )
    assert set(region["Data"]["Gemeente"]) == {"Emmen"} and len(region["Data"]) == 6
    assert "Assen" not in region["Samenvatting"].to_string()
    with app.app_context():
        files = db.session.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == "exported")
        ).all()
    assert [f["file"] for f in files] == [f"{demo_survey.slug}-GM0114.xlsx"] * 2 + [
        f"{demo_survey.slug}.xlsx"
    ]


def test_no_volunteers_sheet_without_the_permission(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    helper = {**short_form("17", "GM0114"), "q_helpen": ["ja"], "q_helpen__naam": ["Sanne Bakker"],
              "q_helpen__email": ["sanne@example.org"]}  # fmt: skip
    store(app, demo_survey, [helper] * 5)
    url = f"/analysis/{demo_survey.slug}/export.xlsx"
    without = download(logged_in("analyst_no_volunteers"), url)
    book = openpyxl.load_workbook(io.BytesIO(without))
    assert "Vrijwilligers" not in book.sheetnames
    assert all(
        "sanne" not in str(c.value).lower() for ws in book for r in ws.iter_rows() for c in r
    )
    with_permission = openpyxl.load_workbook(io.BytesIO(download(logged_in("researcher"), url)))
    names = [c.value for c in with_permission["Vrijwilligers"]["A"]][1:]
    assert names == ["Sanne Bakker"] * 5


INJECTIONS = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "\r=1+1",
              '=cmd|" /C calc"!A0']  # fmt: skip


def test_formula_injection_stays_text_in_every_sheet(app, make_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    survey = make_survey(pages=[{"questions": [
        {"code": "gemeente", "type": "municipality", "text": "Gemeente?"},
        {"code": "keuze", "type": "single_choice", "text": "=1+2", "other": True,
         "options": [{"code": "a", "label": "@A1"}, {"code": "b", "label": "+B"}]},
        {"code": "tekst", "type": "short_text", "text": "Iets?"},
        {"code": "helpen", "type": "volunteer", "text": "Helpen?"},
    ]}])  # fmt: skip
    forms = [
        {"q_gemeente": ["GM0114"], "q_keuze": ["anders"], "q_keuze__anders": [payload],
         "q_tekst": [payload], "q_helpen": ["ja"], "q_helpen__naam": [payload],
         "q_helpen__telefoon": ["06 12345678"], "q_helpen__toestemming": ["ja"]}
        for payload in INJECTIONS
    ]  # fmt: skip
    store(app, survey, forms)
    content = download(logged_in("researcher"), f"/analysis/{survey.slug}/export.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(content))  # formulas kept as formulas, if any
    found = set()
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    found.add(cell.value)
    for payload in INJECTIONS:
        assert payload.strip() in {v.strip() for v in found}, payload


def test_zip_of_every_municipality_in_scope(app, demo_survey, logged_in) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    store(app, demo_survey, [short_form("16", "GM0114")] * 5 + [short_form("17", "GM0106")] * 5)
    response = logged_in("analyst_emmen").get(f"/analysis/{demo_survey.slug}/export.zip")
    try:
        archive = zipfile.ZipFile(io.BytesIO(response.data))
    finally:
        response.close()
    assert archive.namelist() == [f"{demo_survey.slug}-GM0114.xlsx"]
    data = pd.read_excel(io.BytesIO(archive.read(archive.namelist()[0])), sheet_name="Data")
    assert len(data) == 5 and set(data["Gemeente"]) == {"Emmen"}
    response = logged_in("researcher").get(f"/analysis/{demo_survey.slug}/export.zip")
    try:
        assert len(zipfile.ZipFile(io.BytesIO(response.data)).namelist()) == 12  # Drenthe
    finally:
        response.close()


def test_workbooks_open_in_a_real_spreadsheet_program(
    app, demo_survey, logged_in, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is missing: `make test` installs libreoffice-calc-nogui"
    store(app, demo_survey, [short_form("16", "GM0114")] * 6 + [short_form("17", "GM0106")] * 6)
    client = logged_in("researcher")
    files = []
    for name, url in [("regio.xlsx", "export.xlsx"), ("emmen.xlsx", "export/GM0114.xlsx")]:
        path = tmp_path / name
        path.write_bytes(download(client, f"/analysis/{demo_survey.slug}/{url}"))
        files.append(str(path))
    done = subprocess.run(  # noqa: S603 - our own files, a fixed program
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), *files],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for name in ("regio.pdf", "emmen.pdf"):
        pdf = (tmp_path / name).read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 2000
