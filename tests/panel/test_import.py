"""Importing existing members: every bad row reported with its reason, nothing imported
until the file is clean, or only the good rows when asked, with both counts."""

from __future__ import annotations

import io
import re

import openpyxl
from sqlalchemy import select

from peiling.extensions import db
from peiling.panel.models import Member, MemberStatus
from tests.auth.fixtures import csrf_of
from tests.panel.test_recruitment import members

GOOD_AND_BAD = (
    "email;gemeente;geboortejaar;geslacht;opleiding\n"
    "a.jansen@example.nl;GM0014;1970;vrouw;hbo\n"  # row 2: good
    "geen-adres;GM0014;1980;;\n"  # 3: bad email
    "b.bakker@example.nl;Amsterdam;1980;;\n"  # 4: not in Groningen
    "c.smit@example.nl;Veendam;1955;Man;Mbo\n"  # 5: good, by name and label
    "a.jansen@example.nl;GM0047;1990;;\n"  # 6: twice in the file
    "d.visser@example.nl;GM0037;20xx;;\n"  # 7: birth year
    "e.mulder@example.nl;GM0037;1999;;promovendus\n"  # 8: unknown profile answer
    "bestaand@example.nl;GM0014;1960;;\n"  # 9: in the panel already
)


def upload(client, content: bytes, name: str, only_good: bool = False):  # type: ignore[no-untyped-def]
    page = client.get("/panel/groninger-panel/importeren")
    data = {"csrf_token": csrf_of(page.get_data(as_text=True)),
            "bestand": (io.BytesIO(content), name)}  # fmt: skip
    if only_good:
        data["alleen_goede"] = "1"
    return client.post("/panel/groninger-panel/importeren", data=data,
                       content_type="multipart/form-data")  # fmt: skip


def existing(app, panel) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.add(Member(panel_id=panel.id, email="bestaand@example.nl",
                              municipality_code="GM0014", birth_year=1960))  # fmt: skip
        db.session.commit()


def rows_reported(html: str) -> list[str]:
    return re.findall(r'<tr><th scope="row">(\d+)</th>', html)


def test_a_file_with_bad_rows_imports_nothing_and_names_each(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    existing(app, panel)
    response = upload(logged_in("researcher"), GOOD_AND_BAD.encode(), "leden.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert rows_reported(html) == ["3", "4", "6", "7", "8", "9"]
    reasons = ["ongeldig e-mailadres", "onbekende gemeente ‘Amsterdam’", "dubbel in het bestand",
               "geboortejaar ontbreekt of klopt niet", "onbekend antwoord bij opleiding",
               "staat al in het panel"]  # fmt: skip
    for reason in reasons:
        assert reason in html, reason
    assert "6 rijen zijn niet goed; 2 wel" in html
    assert [m.email for m in members(app)] == ["bestaand@example.nl"]  # nothing half-imported


def test_only_the_good_rows_when_asked(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    existing(app, panel)
    response = upload(logged_in("researcher"), GOOD_AND_BAD.encode(), "leden.csv", only_good=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 leden geïmporteerd. 6 rijen niet." in html
    assert rows_reported(html) == ["3", "4", "6", "7", "8", "9"]
    with app.app_context():
        added = {m.email: m for m in db.session.scalars(select(Member))}
    assert set(added) == {"bestaand@example.nl", "a.jansen@example.nl", "c.smit@example.nl"}
    smit = added["c.smit@example.nl"]
    assert (smit.municipality_code, smit.birth_year, smit.gender, smit.profile) == (
        "GM0047",
        1955,
        "man",
        {"opleiding": "mbo"},
    )
    assert smit.status is MemberStatus.ACTIVE and len(smit.key) >= 43


def test_a_clean_excel_file_is_imported_whole(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email", "Gemeente", "Geboortejaar"])
    sheet.append(["p.de.boer@example.nl", "Groningen", 1988])
    sheet.append(["Q.Dijkstra@Example.nl", "GM1950", 2001])
    content = io.BytesIO()
    book.save(content)
    response = upload(logged_in("researcher"), content.getvalue(), "leden.xlsx")
    assert response.status_code == 200
    assert "2 leden geïmporteerd." in response.get_data(as_text=True)
    assert sorted(m.email for m in members(app)) == [
        "p.de.boer@example.nl",
        "q.dijkstra@example.nl",
    ]


def test_unreadable_files_are_refused_clearly(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    client = logged_in("researcher")
    missing = upload(client, b"naam;adres\nx;y\n", "leden.csv")
    assert missing.status_code == 422
    assert "Deze kolommen ontbreken: email, gemeente, geboortejaar." in missing.get_data(
        as_text=True
    )
    broken = upload(client, b"PK\x03\x04 not really a workbook", "leden.xlsx")
    assert broken.status_code == 422 and "kan niet worden gelezen" in broken.get_data(as_text=True)
    latin = upload(client, "email;gemeente;geboortejaar\né@x.nl;GM0014;1980\n".encode("latin-1"),
                   "leden.csv")  # fmt: skip
    assert latin.status_code == 422 and "UTF-8" in latin.get_data(as_text=True)
    assert members(app) == []
    assert logged_in("analyst").get("/panel/groninger-panel/importeren").status_code == 403


def test_an_address_too_long_to_store_is_a_bad_row(app, logged_in, panel) -> None:  # type: ignore[no-untyped-def]
    """255 characters passed the shape check and reached PostgreSQL's VARCHAR(254): a 500
    that lost the whole import, while SQLite stored it."""
    long = "lid@" + "a" * 248 + ".nl"
    content = f"email;gemeente;geboortejaar\nkort@example.nl;GM0014;1970\n{long};GM0014;1971\n"
    response = upload(logged_in("researcher"), content.encode(), "leden.csv", only_good=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, response.status_code
    assert rows_reported(html) == ["3"] and "ongeldig e-mailadres" in html
    assert [m.email for m in members(app)] == ["kort@example.nl"]
