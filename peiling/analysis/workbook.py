"""Excel workbooks of a survey's results, per municipality or for the whole region.

Written with xlsxwriter in constant-memory mode (each row goes to disk as it is written,
so memory does not grow with the number of responses); the Data sheet streams its rows
from the database. Text is only ever written as a string cell (`write_string`, and
`strings_to_formulas` off): nothing a respondent or staff member typed becomes a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from peiling.analysis import profiles
from peiling.analysis.filters import Filters, response_conditions
from peiling.analysis.headlines import headlines
from peiling.analysis.open_answers import open_answers
from peiling.analysis.results import QuestionTable, Results, results
from peiling.analysis.volunteers import volunteers
from peiling.analysis.weighting import Weighting, weighting
from peiling.auth.access import Scope
from peiling.geo import AMSTERDAM, Municipality, as_utc
from peiling.surveys.answers import consent_age
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
    _profiles(book, styles, session, defn, scope, filters, request.minimum)
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
    weighted_col = names.index("Gewogen %") if weighted is not None else 0
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
                if len(groups) > 1:  # and each municipality's, beside the total
                    for k, (_name, i) in enumerate(groups[1:], start=1):
                        place = found.columns[i].code
                        share = weighted.by_place.get((table.question.id, answer.code, place), 0)
                        _weighted(sheet, row, weighted_col + k, share, answer.cells[i], styles,
                                  found.minimum)  # fmt: skip
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
        if len(groups) > 1:
            names += [f"{name}: gewogen %" for name, _i in groups[1:]]
    return groups, names


def _profiles(
    book: Any,
    styles: dict[str, Any],
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    minimum: int,
) -> None:
    """Panel waves: every closed question per value of each profile question (gender and
    the panel's own), in long form, so a pivot table or filter can take it from there."""
    fields = profiles.profile_fields(session, defn.id)
    if not fields:
        return
    sheet = book.add_worksheet("Profiel")
    names = ["Profielvraag", "Waarde", "Vraag", "Code", "Antwoord", "Aantal", "%"]
    _header(sheet, styles, names, [16, 18, 40, 16, 32, 10, 10])
    row = 0
    for field in fields:
        for table in profiles.breakdown(session, defn, scope, filters, field, minimum):
            for label, cells in table.rows:
                for (_code, value), cell in zip(table.values, cells, strict=True):
                    row += 1
                    for col, text_value in enumerate(
                        [field.label, value, table.question.text, table.question.code, label]
                    ):
                        text(sheet, row, col, text_value)
                    _cell(sheet, row, 5, cell, styles, minimum)
    sheet.autofilter(0, 0, row, len(names) - 1)


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
    for n, (_title, first, last, column) in enumerate(ranges):
        chart = book.add_chart({"type": "bar"})
        chart.add_series(
            {
                "categories": ["Tabellen", first, 2, last, 2],
                "values": ["Tabellen", first, column, last, column],
                "data_labels": {"value": True, "num_format": "0%"},
                "fill": {"color": "#154273"},
            }
        )
        # The title refers to the question's text cell: xlsxwriter would read a title
        # given as text that starts with "=" as a formula (a question text is staff input).
        chart.set_title({"name": ["Tabellen", first, 0], "name_font": {"size": 11}})
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
    names.append("Toestemming ouder/verzorger")
    _header(sheet, styles, names, [28, 32, 16, 20, 40, 18, 30])
    row = 0
    age = consent_age()
    for row, v in enumerate(volunteers(session, defn, scope, municipality), start=1):
        for col, value in enumerate(
            [v.name, v.email, v.phone, v.municipality, ", ".join(v.activities)]
        ):
            text(sheet, row, col, value)
        sheet.write_datetime(row, 5, _local(v.created_at), styles["date"])
        # A guardian's yes, a self-declared 16 or older (age unknown), or not asked.
        text(sheet, row, 6, v.consent % {"age": age})
    sheet.autofilter(0, 0, row, len(names) - 1)


EXCEL_EPOCH = datetime(1899, 12, 30)


def _excel_moment(moment: datetime) -> float:
    """A stored moment as Excel's serial day number in Dutch time: the cell value that
    write_datetime() makes, made here for a hundred thousand rows at a fraction of its cost."""
    return (_local(moment) - EXCEL_EPOCH).total_seconds() / 86400


def _local(moment: datetime) -> datetime:
    """A stored moment (UTC; SQLite hands it back without a zone) in Dutch time, for Excel."""
    return as_utc(moment).astimezone(AMSTERDAM).replace(tzinfo=None)


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
    """One row per response, labels not codes, streamed from the database.

    Two streams in response order, merged here: the responses, and their answers joined
    to them only to select them. One joined stream would repeat every response's columns
    (its timestamp above all, costly to convert) on each of its twenty-odd answer rows.
    """
    sheet = book.add_worksheet("Data")
    columns = _data_columns(defn)
    fixed = ["Nr", "Ingevuld op", "Gemeente", "Leeftijd", "Bron", "Taal"]
    _header(sheet, styles, fixed + [h for _q, _o, h in columns], [7, 18, 18, 9, 14, 6] +
            [18] * len(columns))  # fmt: skip
    slots = _slots(defn, columns, len(fixed))
    names = dict(session.execute(select(Municipality.code, Municipality.name)).all())
    conditions = response_conditions(defn.id, scope, filters)
    people = _rows(session, select(
        Response.id, Response.submitted_at, Response.municipality_code, Response.age,
        Response.source, Response.language,
    ).where(*conditions).order_by(Response.id))  # fmt: skip
    answers = _plain_rows(session, select(
        Answer.response_id, Answer.question_id, Answer.option_id, Answer.value_number,
        Answer.value_text,
    ).join(Response, Response.id == Answer.response_id)
     .where(*conditions).order_by(Answer.response_id, Answer.position))  # fmt: skip
    pending = next(answers, None)
    row = 0
    number, string, date_style = sheet.write_number, sheet.write_string, styles["date"]
    for rid, when, place, age, source, language in people:
        row += 1
        if progress is not None and row % PROGRESS_EVERY == 0:
            progress(row, total)
        number(row, 0, row)
        number(row, 1, _excel_moment(when), date_style)
        string(row, 2, names.get(place or "", ""))
        if age is not None:
            number(row, 3, age)
        if source:
            string(row, 4, source)
        if language:
            string(row, 5, language)
        values: dict[int, Any] = {}
        # Answers of a response stored between the two queries have no row: skipped.
        while pending is not None and pending[0] <= rid:
            if pending[0] == rid:
                slot = slots.get((pending[1], pending[2]))
                if slot is not None:
                    slot.put(values, pending[3], pending[4])
            pending = next(answers, None)
        for col in sorted(values):
            value = values[col]
            # Labels, texts and numbers only, and text only ever as a string cell.
            if isinstance(value, str):
                string(row, col, value)
            else:
                number(row, col, value)
    sheet.autofilter(0, 0, row, len(fixed) + len(columns) - 1)
    if progress is not None:
        progress(row, total)


def _rows(session: Session, stmt: Select[Any]) -> Iterator[Any]:
    """The rows of `stmt`, fetched DATA_CHUNK at a time (a server-side cursor on
    PostgreSQL), as Core rows: no ORM bookkeeping and no per-row fetch call."""
    result = session.connection().execute(stmt.execution_options(yield_per=DATA_CHUNK))
    return chain.from_iterable(result.partitions())


def _plain_rows(session: Session, stmt: Select[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of `stmt` as the driver gives them, for a query of plain numbers and texts
    that needs no result processing: a million responses' answers are some twenty million
    rows, and wrapping each in a Core row costs as much again as fetching it."""
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positiontup is not None:  # SQLite's qmark style
        params = tuple(params[name] for name in compiled.positiontup)
    driver = connection.connection.driver_connection
    assert driver is not None  # noqa: S101 - a checked-out connection
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"peiling_data_{id(stmt):x}")  # server side: streamed
        cursor.itersize = DATA_CHUNK
    else:
        cursor = driver.cursor()  # SQLite steps through the result as it is read
    cursor.execute(str(compiled), params)
    try:
        yield from cursor
    finally:
        cursor.close()


@dataclass(frozen=True)
class _Slot:
    """Where one kind of answer row goes in the Data sheet, and how."""

    col: int
    kind: str  # "tick" (a multiple-choice option), "label" (another option), "place", "value"
    label: str = ""
    other: int | None = None  # "tick": the column of the "anders, namelijk" text
    is_other: bool = False  # "label": the option carries the respondent's own text
    places: dict[str, str] | None = None  # "place": code -> name

    def put(self, values: dict[int, Any], number: float | None, value: str | None) -> None:
        col = self.col
        if self.kind == "tick":
            values[col] = 1
            if self.other is not None and value:
                values[self.other] = value
        elif self.kind == "label":  # single choice, yes/no, agree scale, a volunteer's activity
            label = f"{self.label}: {value}" if self.is_other and value else self.label
            values[col] = f"{values[col]}, {label}" if col in values else label
        elif self.kind == "place":
            if value:
                values[col] = (self.places or {}).get(value, value)
        elif number is not None:
            values[col] = int(number) if number.is_integer() else number
        elif value is not None:  # a text, or a volunteer's ja/nee before her activities
            values[col] = f"{value}, {values[col]}" if col in values else value


def _slots(
    defn: SurveyDef, columns: list[tuple[QuestionDef, str | None, str]], offset: int
) -> dict[tuple[int, int | None], _Slot]:
    """(question id, option id or None) of each kind of answer row -> its _Slot."""
    index = {(q.code, o): offset + i for i, (q, o, _h) in enumerate(columns)}
    slots: dict[tuple[int, int | None], _Slot] = {}
    for q in defn.questions:
        if q.type is QuestionType.MULTIPLE_CHOICE:
            other = index.get((q.code, "__anders"))
            for o in q.options:
                slots[(q.id, o.id)] = _Slot(index[(q.code, o.code)], "tick",
                                            other=other if o.is_other else None)  # fmt: skip
            continue
        col = index[(q.code, None)]
        for o in q.options:
            slots[(q.id, o.id)] = _Slot(col, "label", o.label, is_other=o.is_other)
        if q.type is QuestionType.MUNICIPALITY:
            slots[(q.id, None)] = _Slot(col, "place", places={o.code: o.label for o in q.options})
        else:
            slots[(q.id, None)] = _Slot(col, "value")
    return slots


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
