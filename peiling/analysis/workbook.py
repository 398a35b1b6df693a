"""Excel workbooks of a survey's results, per municipality or for the whole region.

Written with xlsxwriter in constant-memory mode (each row goes to disk as it is written,
so memory does not grow with the number of responses); the Data sheet streams its rows
from the database. Text is only ever written as a string cell (`write_string`, and
`strings_to_formulas` off): nothing a respondent or staff member typed becomes a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from peiling.analysis.filters import AMSTERDAM, Filters, response_conditions
from peiling.analysis.headlines import headlines
from peiling.analysis.open_answers import open_answers
from peiling.analysis.results import QuestionTable, Results, results
from peiling.analysis.volunteers import volunteers
from peiling.analysis.weighting import Weighting, weighting
from peiling.auth.access import Scope
from peiling.geo import Municipality
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import Answer, QuestionType, Response

DATA_CHUNK = 2000  # rows fetched at a time for the Data sheet
PROGRESS_EVERY = 1000


Progress = Callable[[int, int], None]  # (Data rows written, Data rows in all)


@dataclass(frozen=True)
class Request:
    """What to export: one municipality (CBS code) or, with None, everything in scope."""

    municipality: str | None
    scope: Scope
    minimum: int = 5
    progress: Progress | None = None  # told every PROGRESS_EVERY Data rows


def write(path: Path, session: Session, defn: SurveyDef, request: Request) -> None:
    """Write the workbook to `path`."""
    scope = request.scope
    filters = Filters(municipalities=(request.municipality,)) if request.municipality else Filters()
    found = results(session, defn, scope, filters, request.minimum)
    # The province next to a municipality: only for users who may see the whole region.
    province = None
    if request.municipality and scope.municipalities is None:
        province = results(session, defn, scope, Filters(), request.minimum)
    book = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    styles = _styles(book)
    _summary(book, styles, defn, found, request)
    weighted = weighting(session, defn, scope, filters)
    chart_ranges = _tables(book, styles, found, province, weighted)
    _charts(book, chart_ranges)
    _open_answers(book, styles, session, defn, scope, filters, request.minimum)
    if scope.volunteers:
        _volunteers(book, styles, session, defn, scope, request.municipality)
    total = found.total
    _data(book, styles, session, defn, scope, filters, request.progress, total)
    _codebook(book, styles, defn)
    book.close()


def _styles(book: Any) -> dict[str, Any]:
    return {
        "head": book.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1}),
        "title": book.add_format({"bold": True, "font_size": 14}),
        "bold": book.add_format({"bold": True}),
        "pct": book.add_format({"num_format": "0%"}),
        "date": book.add_format({"num_format": "dd-mm-yyyy hh:mm"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
    }


def text(sheet: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """A string cell, whatever it starts with (=, +, -, @, tab): never a formula."""
    sheet.write_string(row, col, "" if value is None else str(value), fmt)


def _header(sheet: Any, styles: dict[str, Any], names: list[str], widths: list[int]) -> None:
    for col, (name, width) in enumerate(zip(names, widths, strict=True)):
        text(sheet, 0, col, name, styles["head"])
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)


def _summary(
    book: Any, styles: dict[str, Any], defn: SurveyDef, found: Results, request: Request
) -> None:
    sheet = book.add_worksheet("Samenvatting")
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 90)
    text(sheet, 0, 0, defn.title, styles["title"])
    place = next((c.name for c in found.columns[1:] if c.code == request.municipality), None)
    rows: list[tuple[str, Any]] = [
        ("Vragenlijst", defn.slug),
        ("Gemeente", place or ("Alle gemeenten" if not request.municipality else "")),
        ("Periode", _period(found)),
        ("Aantal deelnemers", found.total),
        (
            "Kleinste getoonde groep",
            f"groepen van minder dan {found.minimum} staan er als <{found.minimum}",
        ),  # fmt: skip
    ]
    row = 2
    for label, value in rows:
        text(sheet, row, 0, label, styles["bold"])
        if isinstance(value, int):
            sheet.write_number(row, 1, value)
        else:
            text(sheet, row, 1, value)
        row += 1
    row += 1
    text(sheet, row, 0, "Deelnemers per gemeente", styles["head"])
    text(sheet, row, 1, "Aantal", styles["head"])
    for column in found.columns[1:]:
        row += 1
        text(sheet, row, 0, column.name or "Onbekend")
        if column.respondents < found.minimum:
            text(sheet, row, 1, f"<{found.minimum}")
        else:
            sheet.write_number(row, 1, column.respondents)
    row += 2
    text(sheet, row, 0, "In het kort", styles["head"])
    for line in headlines(found):
        row += 1
        text(sheet, row, 0, "•")
        text(sheet, row, 1, line, styles["wrap"])


def _period(found: Results) -> str:
    if not found.per_day:
        return ""
    first, last = found.per_day[0][0], found.per_day[-1][0]
    return f"{first:%d-%m-%Y} – {last:%d-%m-%Y}"


ChartRange = tuple[str, int, int, int]  # question text, first row, last row, share column


def _tables(
    book: Any,
    styles: dict[str, Any],
    found: Results,
    province: Results | None,
    weighted: Weighting | None,
) -> list[ChartRange]:
    """Every closed question: counts and shares (number-formatted) per column group."""
    sheet = book.add_worksheet("Tabellen")
    groups, names = _table_columns(found, province, weighted)
    _header(sheet, styles, names, [40, 16, 32] + [12] * (len(names) - 3))
    sheet.autofilter(0, 0, 0, len(names) - 1)
    weighted_col = len(names) - 1
    ranges: list[ChartRange] = []
    row = 1
    other = {t.question.code: t for t in province.tables} if province else {}
    for table in found.tables:
        first = row
        for r, answer in enumerate(table.rows):
            text(sheet, row, 0, table.question.text)
            text(sheet, row, 1, table.question.code)
            text(sheet, row, 2, answer.label)
            cells = [answer.cells[i] for _name, i in groups]
            if table.question.code in other:
                cells.append(other[table.question.code].rows[r].cells[0])
            for k, cell in enumerate(cells):
                _cell(sheet, row, 3 + 2 * k, cell, styles, found.minimum)
            if weighted is not None:
                share = weighted.shares.get((table.question.id, answer.code), 0.0)
                _weighted(sheet, row, weighted_col, share, cells[0], styles, found.minimum)
            row += 1
        _answered_row(sheet, row, table, groups, found.minimum)
        if table.rows:
            ranges.append((table.question.text, first, row - 1, 4))
        row += 1
    return ranges


def _table_columns(
    found: Results, province: Results | None, weighted: Weighting | None
) -> tuple[list[tuple[str, int]], list[str]]:
    """The column groups of Tabellen (name, index into the results' columns) and headers."""
    groups = [(c.name or "Onbekend", i) for i, c in enumerate(found.columns) if not c.total]
    if len(groups) != 1:
        groups.insert(0, ("Totaal", 0))
    names = ["Vraag", "Code", "Antwoord"]
    for name, _i in groups:
        names += [f"{name}: aantal", f"{name}: %"]
    if province is not None:
        names += ["Provincie: aantal", "Provincie: %"]
    if weighted is not None:
        names.append("Gewogen %")
    return groups, names


def _answered_row(
    sheet: Any, row: int, table: QuestionTable, groups: list[tuple[str, int]], minimum: int
) -> None:
    text(sheet, row, 0, table.question.text)
    text(sheet, row, 1, table.question.code)
    text(sheet, row, 2, "Beantwoord (n)")
    for k, (_name, i) in enumerate(groups):
        answered = table.answered[i]
        if answered.hidden:
            text(sheet, row, 3 + 2 * k, f"<{minimum}")
        else:
            sheet.write_number(row, 3 + 2 * k, answered.count)


def _weighted(
    sheet: Any, row: int, col: int, share: float, cell: Any, styles: dict[str, Any], minimum: int
) -> None:
    """A weighted share, hidden wherever the unweighted figure is."""
    if cell.hidden:
        text(sheet, row, col, f"<{minimum}")
    else:
        sheet.write_number(row, col, share, styles["pct"])


def _cell(sheet: Any, row: int, col: int, cell: Any, styles: dict[str, Any], minimum: int) -> None:
    if cell.hidden:
        text(sheet, row, col, f"<{minimum}")
        text(sheet, row, col + 1, f"<{minimum}")
        return
    sheet.write_number(row, col, cell.count)
    if cell.share is not None:
        sheet.write_number(row, col + 1, cell.share, styles["pct"])


def _charts(book: Any, ranges: list[ChartRange]) -> None:
    """A native bar chart per closed question, reading the first share column of Tabellen."""
    sheet = book.add_worksheet("Grafieken")
    for n, (title, first, last, column) in enumerate(ranges):
        chart = book.add_chart({"type": "bar"})
        chart.add_series(
            {
                "categories": ["Tabellen", first, 2, last, 2],
                "values": ["Tabellen", first, column, last, column],
                "data_labels": {"value": True, "num_format": "0%"},
                "fill": {"color": "#154273"},
            }
        )
        chart.set_title({"name": title[:250], "name_font": {"size": 11}})
        chart.set_legend({"none": True})
        chart.set_x_axis({"num_format": "0%", "min": 0})
        chart.set_size({"width": 620, "height": 80 + 22 * (last - first + 1)})
        sheet.insert_chart(1 + n * 18, 1, chart)


def _open_answers(
    book: Any,
    styles: dict[str, Any],
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    minimum: int,
) -> None:
    sheet = book.add_worksheet("Open antwoorden")
    _header(sheet, styles, ["Code", "Vraag", "Antwoord"], [16, 50, 90])
    found = open_answers(session, defn, scope, filters, "", minimum)
    row = 1
    if found.withheld:
        text(sheet, row, 0, f"Minder dan {minimum} deelnemers: open antwoorden niet getoond.")
        return
    for item in found.questions:
        for answer in item.texts:
            text(sheet, row, 0, item.question.code + (" (anders)" if item.other else ""))
            text(sheet, row, 1, item.question.text)
            text(sheet, row, 2, answer, styles["wrap"])
            row += 1
    sheet.autofilter(0, 0, max(row - 1, 0), 2)


def _volunteers(
    book: Any,
    styles: dict[str, Any],
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    municipality: str | None,
) -> None:
    sheet = book.add_worksheet("Vrijwilligers")
    names = ["Naam", "E-mailadres", "Telefoon", "Gemeente", "Wil helpen met", "Aangemeld"]
    _header(sheet, styles, names, [28, 32, 16, 20, 40, 18])
    row = 0
    for row, v in enumerate(volunteers(session, defn, scope, municipality), start=1):
        for col, value in enumerate(
            [v.name, v.email, v.phone, v.municipality, ", ".join(v.activities)]
        ):
            text(sheet, row, col, value)
        sheet.write_datetime(row, 5, _local(v.created_at), styles["date"])
    sheet.autofilter(0, 0, row, len(names) - 1)


def _local(moment: datetime) -> datetime:
    """A stored moment (UTC; SQLite hands it back without a zone) in Dutch time, for Excel."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(AMSTERDAM).replace(tzinfo=None)


def _data_columns(defn: SurveyDef) -> list[tuple[QuestionDef, str | None, str]]:
    """(question, option code for a multiple-choice column, header) per Data column."""
    columns: list[tuple[QuestionDef, str | None, str]] = []
    for q in defn.questions:
        if q.type is QuestionType.MULTIPLE_CHOICE:
            columns += [(q, o.code, f"{q.code}: {o.label}") for o in q.options]
            if any(o.is_other for o in q.options):
                columns.append((q, "__anders", f"{q.code}: anders, namelijk"))
        else:
            columns.append((q, None, q.code))
    return columns


def _data(
    book: Any,
    styles: dict[str, Any],
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    progress: Progress | None = None,
    total: int = 0,
) -> None:
    """One row per response, labels not codes, streamed from the database."""

    sheet = book.add_worksheet("Data")
    columns = _data_columns(defn)
    fixed = ["Nr", "Ingevuld op", "Gemeente", "Leeftijd", "Bron", "Taal"]
    _header(sheet, styles, fixed + [h for _q, _o, h in columns], [7, 18, 18, 9, 14, 6] +
            [18] * len(columns))  # fmt: skip
    index = {(q.code, o): i for i, (q, o, _h) in enumerate(columns)}
    names = dict(session.execute(select(Municipality.code, Municipality.name)).all())
    by_id = {q.id: q for q in defn.questions}
    stmt = (
        select(
            Response.id,
            Response.submitted_at,
            Response.municipality_code,
            Response.age,
            Response.source,
            Response.language,
            Answer.question_id,
            Answer.option_id,
            Answer.value_number,
            Answer.value_text,
        )
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(*response_conditions(defn.id, scope, filters))
        .order_by(Response.id, Answer.id)
        .execution_options(yield_per=DATA_CHUNK)
    )
    row = 0
    for response, answers in _grouped(session.execute(stmt)):
        row += 1
        if progress is not None and row % PROGRESS_EVERY == 0:
            progress(row, total)
        rid, when, place, age, source, language = response
        sheet.write_number(row, 0, row)
        sheet.write_datetime(row, 1, _local(when), styles["date"])
        text(sheet, row, 2, names.get(place or "", ""))
        if age is not None:
            sheet.write_number(row, 3, age)
        text(sheet, row, 4, source or "")
        text(sheet, row, 5, language or "")
        values: dict[int, Any] = {}
        for question_id, option_id, number, value in answers:
            q = by_id.get(question_id)
            if q is not None:
                _put(values, index, q, option_id, number, value)
        for col in sorted(values):
            value = values[col]
            if isinstance(value, float | int):
                sheet.write_number(row, len(fixed) + col, value)
            else:
                text(sheet, row, len(fixed) + col, value)
    sheet.autofilter(0, 0, row, len(fixed) + len(columns) - 1)
    if progress is not None:
        progress(row, total)


def _grouped(rows: Any) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Rows of response ⨝ answer, ordered by response, as (response, its answers)."""
    current: tuple[Any, ...] | None = None
    answers: list[tuple[Any, ...]] = []
    for row in rows:
        head, answer = tuple(row[:6]), tuple(row[6:])
        if current is not None and head[0] != current[0]:
            yield current, answers
            answers = []
        current = head
        if answer[0] is not None:
            answers.append(answer)
    if current is not None:
        yield current, answers


def _put(
    values: dict[int, Any],
    index: dict[tuple[str, str | None], int],
    q: QuestionDef,
    option_id: int | None,
    number: float | None,
    value: str | None,
) -> None:
    option = next((o for o in q.options if o.id == option_id), None) if option_id else None
    if q.type is QuestionType.MULTIPLE_CHOICE and option is not None:
        values[index[(q.code, option.code)]] = 1
        if option.is_other and value:
            values[index[(q.code, "__anders")]] = value
        return
    col = index[(q.code, None)]
    if option is not None:  # single choice, yes/no, agree scale, a volunteer's activity
        label = option.label + (f": {value}" if option.is_other and value else "")
        values[col] = f"{values[col]}, {label}" if col in values else label
    elif q.type is QuestionType.MUNICIPALITY and value:
        values[col] = q.option(value).label if q.option(value) else value  # type: ignore[union-attr]
    elif number is not None:
        values[col] = int(number) if number.is_integer() else number
    elif value is not None:
        values[col] = f"{value}, {values[col]}" if col in values else value


def _codebook(book: Any, styles: dict[str, Any], defn: SurveyDef) -> None:
    sheet = book.add_worksheet("Codeboek")
    _header(sheet, styles, ["Code", "Vraag", "Soort", "Antwoordcode", "Antwoord"],
            [18, 60, 16, 16, 40])  # fmt: skip
    row = 0
    for q in defn.questions:
        options = [(o.code, o.label) for o in q.options] or [("", "")]
        if q.type is QuestionType.MUNICIPALITY:
            options = [("GMxxxx", "CBS-code van de gemeente")]
        for code, label in options:
            row += 1
            text(sheet, row, 0, q.code)
            text(sheet, row, 1, q.text)
            text(sheet, row, 2, q.type.value)
            text(sheet, row, 3, code)
            text(sheet, row, 4, label)
    sheet.autofilter(0, 0, row, 4)
