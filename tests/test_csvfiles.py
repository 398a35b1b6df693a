"""The CSV files staff upload (panel members, population figures): every separator and line
ending spreadsheet programs write, and a clear message for what cannot be read."""

from __future__ import annotations

import io

import pytest

from peiling.csvfiles import UnreadableCsv, csv_rows
from tests.panel.test_recruitment import members
from tests.security.test_attacks import snapshot
from tests.security.test_numbers import staff_form

ROWS = [["email", "gemeente", "geboortejaar"], ["anna@example.nl", "Groningen", "1990"]]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("separator", [";", ","])
def test_every_line_ending_and_separator(ending: str, separator: str) -> None:
    text = ending.join(separator.join(row) for row in ROWS) + ending
    assert csv_rows(text) == ROWS


@pytest.mark.parametrize(
    ("text", "rows"),
    [("email\nanna@example.nl\n", [["email"], ["anna@example.nl"]]),  # one column
     ("aantal;gemeente\n", [["aantal", "gemeente"]]),  # a header only
     ('naam;opmerking\nanna;"twee\rregels"\r', [["naam", "opmerking"], ["anna", "twee\rregels"]]),
     ("  \n", [])],
)  # fmt: skip
def test_one_column_a_header_only_and_line_breaks_in_quotes(
    text: str, rows: list[list[str]]
) -> None:
    assert csv_rows(text) == rows


def test_a_field_past_the_csv_modules_limit_names_its_line() -> None:
    text = "email;gemeente\nanna@example.nl;GM0014\n" + "a" * 200_000 + ";GM0014\n"
    with pytest.raises(UnreadableCsv) as refused:
        csv_rows(text)
    assert str(refused.value) == "Regel 3 van het bestand kan niet als CSV worden gelezen."


# Each was a 500 on both pages (UTF-16 only on the weighting page, which decodes with
# replacement characters); now a 422 that says what is wrong, and nothing stored.
UNREADABLE = {
    "no separator": (b"hallo\nwereld\n", "kolommen"),
    "one column": (b"email\nanna@example.nl\n", "kolommen"),
    "a field of 200,000 characters": (
        b"email;gemeente;geboortejaar;aantal\n" + b"a" * 200_000 + b";Groningen;1990;5\n",
        "Regel 2 van het bestand kan niet als CSV worden gelezen",
    ),
    "UTF-16": ("email;gemeente;aantal\n".encode("utf-16"), ""),
}


@pytest.mark.parametrize("case", UNREADABLE)
@pytest.mark.parametrize("page", ["importeren", "weging"])
def test_an_unreadable_upload_is_explained(app, logged_in, panel, make_survey, case, page) -> None:  # type: ignore[no-untyped-def]
    content, message = UNREADABLE[case]
    survey = make_survey(status="open")
    url = (f"/panel/{panel.slug}/importeren" if page == "importeren"
           else f"/analysis/{survey.slug}/weging")  # fmt: skip
    client = logged_in("researcher")
    before = snapshot(app)
    response = staff_form(client, url, url, {}, bestand=(io.BytesIO(content), "x.csv"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422, (case, page, response.status_code)
    assert message in html and "Traceback" not in html
    assert snapshot(app) == before


def test_a_members_file_from_excel_for_mac_imports(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    """Excel for Mac's "CSV (Macintosh)" ends its lines with a bare CR, which the csv
    module refused when handed the text with its newlines translated (a 500)."""
    lines = ["email;gemeente;geboortejaar", "anna@example.nl;Groningen;1990",
             "bert@example.nl;GM0047;1985"]  # fmt: skip
    content = ("\r".join(lines) + "\r").encode()
    client = logged_in("researcher")
    url = f"/panel/{panel.slug}/importeren"
    response = staff_form(client, url, url, {}, bestand=(io.BytesIO(content), "leden.csv"))
    assert response.status_code in (200, 303), response.status_code
    assert sorted((m.email, m.municipality_code) for m in members(app)) == [
        ("anna@example.nl", "GM0014"), ("bert@example.nl", "GM0047")]  # fmt: skip
