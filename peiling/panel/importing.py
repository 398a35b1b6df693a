"""Importing a panel's existing members from CSV or Excel, with a report per row.

Columns (header names, any order, any case): email, gemeente (CBS code or name),
geboortejaar, geslacht (optional) and one per profile question (its code). Every bad row
is named with its reason; nothing is imported while any row is bad, unless the user asks
for only the good rows, and then both counts are reported. Imported members count as
active: they are members already.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

import openpyxl
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from peiling.csvfiles import UnreadableCsv, csv_rows
from peiling.database import lock_rows
from peiling.emails import is_email
from peiling.geo import Municipality
from peiling.numbers import whole_number
from peiling.panel.models import Member, MemberStatus, Panel
from peiling.panel.services import GENDERS

MAX_ROWS = 50_000
REQUIRED = ("email", "gemeente", "geboortejaar")


class UnreadableFile(ValueError):
    pass


@dataclass
class Report:
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)
    good: int = 0
    imported: int = 0


def read_rows(filename: str, content: bytes) -> list[dict[str, str]]:
    """The rows of a CSV (; or , separated, UTF-8) or an Excel workbook's first sheet, as
    {lower-case header: text}."""
    if filename.lower().endswith(".xlsx"):
        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any broken file is the same to the user
            raise UnreadableFile(_("Dit Excel-bestand kan niet worden gelezen.")) from exc
        sheet = book.worksheets[0]
        values = [["" if v is None else str(v).strip() for v in row]
                  for row in sheet.iter_rows(values_only=True)]  # fmt: skip
        book.close()
    else:
        try:
            values = csv_rows(content.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise UnreadableFile(_("Sla het bestand op als CSV in UTF-8.")) from exc
        except UnreadableCsv as exc:
            raise UnreadableFile(str(exc)) from exc
    if not values:
        raise UnreadableFile(_("Het bestand is leeg."))
    header = [h.lower() for h in values[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise UnreadableFile(_("Deze kolommen ontbreken: %(cols)s.", cols=", ".join(missing)))
    if len(values) - 1 > MAX_ROWS:
        raise UnreadableFile(_("Meer dan %(n)s rijen.", n=MAX_ROWS))
    return [dict(zip(header, row, strict=False)) for row in values[1:] if any(row)]


def import_members(
    session: Session, panel: Panel, rows: list[dict[str, str]], only_good: bool = False
) -> Report:
    """Check every row; add the members if all are good (or, with `only_good`, the good
    ones). Rows are numbered as in the file, the header being row 1."""
    # Before reading who is in the panel: the same file posted twice at once (a double
    # click) is then reported row by row as already in the panel, not refused by the key.
    lock_rows(session, Panel.name, Panel.id == panel.id)
    places: dict[str, str] = {}  # CBS code or lower-case name -> CBS code
    for m in session.scalars(select(Municipality).where(
            Municipality.region_code == panel.region_code)):  # fmt: skip
        places[m.code] = places[m.name.lower()] = m.code
    known = set(session.scalars(select(Member.email).where(Member.panel_id == panel.id)))
    genders = {**{code: code for code in GENDERS}, **{v.lower(): k for k, v in GENDERS.items()}}
    year = datetime.now(UTC).year
    report, members, seen = Report(), [], set()
    for number, row in enumerate(rows, start=2):
        email = row.get("email", "").strip().lower()
        place = places.get(row.get("gemeente", "").strip()) or places.get(
            row.get("gemeente", "").strip().lower()
        )
        born = whole_number(row.get("geboortejaar", "").strip().removesuffix(".0"), max_digits=4)
        gender = row.get("geslacht", "").strip().lower()
        wrong = []
        if not is_email(email):
            wrong.append(_("ongeldig e-mailadres"))
        elif email in known:
            wrong.append(_("staat al in het panel"))
        elif email in seen:
            wrong.append(_("dubbel in het bestand"))
        if place is None:
            wrong.append(_("onbekende gemeente ‘%(name)s’", name=row.get("gemeente", "")))
        if born is None or not year - 110 <= born <= year - 12:
            wrong.append(_("geboortejaar ontbreekt of klopt niet"))
        if gender and gender not in genders:
            wrong.append(_("onbekend geslacht ‘%(value)s’", value=row.get("geslacht", "")))
        profile = _profile(panel, row, wrong)
        seen.add(email)
        if wrong:
            report.problems.append((number, "; ".join(wrong)))
            continue
        members.append(Member(
            panel_id=panel.id, email=email, municipality_code=place, birth_year=born,
            gender=genders[gender] if gender else None, profile=profile,
            status=MemberStatus.ACTIVE, joined_at=datetime.now(UTC),
        ))  # fmt: skip
    report.good = len(members)
    if report.problems and not only_good:
        return report
    session.add_all(members)
    session.flush()
    report.imported = len(members)
    return report


def _profile(panel: Panel, row: dict[str, str], wrong: list[str]) -> dict[str, str]:
    """The row's answers to the profile questions (option code or label), as codes."""
    profile = {}
    for question in panel.profile_fields or []:
        value = row.get(question["code"].lower(), "").strip()
        allowed = {code: code for code, _label in question.get("options", [])}
        allowed.update({label.lower(): code for code, label in question.get("options", [])})
        code = allowed.get(value) or allowed.get(value.lower())
        if value and code is None:
            wrong.append(_("onbekend antwoord bij %(field)s", field=question["code"]))
        elif code:
            profile[question["code"]] = code
    return profile
