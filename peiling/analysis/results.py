"""Results of one survey per question, option and municipality, counted in the database.

Every figure comes from a handful of `GROUP BY` queries over the long-form answers; Python
only shapes the counts (never one row per response). What a user sees is limited by her
Scope in SQL, and small groups are protected (stats.protect).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peiling.analysis.filters import (
    AMSTERDAM,
    Filters,
    answers_in_view,
    response_conditions,
)
from peiling.analysis.stats import Cell, protect
from peiling.auth.access import Scope
from peiling.geo import Municipality
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import Answer, QuestionType, Response

# Questions whose answers are counted per option or value; the others (texts) are listed.
CLOSED = frozenset(QuestionType) - {QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT}
NUMERIC = frozenset({QuestionType.NUMBER, QuestionType.AGE, QuestionType.GRADE})
MANY_ROWS = frozenset({QuestionType.MULTIPLE_CHOICE})  # one respondent, several rows


@dataclass(frozen=True)
class Column:
    code: str | None  # a CBS code; None for responses without a municipality
    name: str
    respondents: int
    total: bool = False  # the column of everything shown


@dataclass
class Row:
    code: str
    label: str
    cells: list[Cell]


@dataclass
class QuestionTable:
    question: QuestionDef
    rows: list[Row]
    answered: list[Cell]  # respondents who answered, of those in the column
    means: list[float | None] | None = None

    @property
    def multiple(self) -> bool:
        return self.question.type in MANY_ROWS


@dataclass
class Results:
    survey: SurveyDef
    columns: list[Column]
    tables: list[QuestionTable]
    per_day: list[tuple[date, int]] = field(default_factory=list)
    per_source: list[tuple[str, int]] = field(default_factory=list)
    minimum: int = 5

    @property
    def total(self) -> int:
        return self.columns[0].respondents


Counts = dict[tuple[int, str, str | None], int]  # (question id, answer code, municipality)


def results(
    session: Session, defn: SurveyDef, scope: Scope, filters: Filters, minimum: int = 5
) -> Results:
    """Every closed question's counts, percentages and means, in total and per municipality."""
    per_place = _responses_per_municipality(session, defn.id, scope, filters)
    names = dict(session.execute(select(Municipality.code, Municipality.name)).all())
    columns = [Column(None, "", sum(per_place.values()), total=True)]
    columns += [
        Column(code, names.get(code or "", ""), n)
        for code, n in sorted(per_place.items(), key=lambda kv: names.get(kv[0] or "", "~"))
    ]
    counts = _counts(session, defn, scope, filters)
    sums = _sums(session, defn, scope, filters)
    answered = _answered(session, defn, scope, filters, counts, sums)
    tables = [
        _table(q, columns, counts, answered, sums, minimum)
        for q in defn.questions
        if q.type in CLOSED
    ]
    return Results(
        defn,
        columns,
        tables,
        per_day=_per_day(session, defn.id, scope, filters),
        per_source=_per_source(session, defn.id, scope, filters),
        minimum=minimum,
    )


def _responses_per_municipality(
    session: Session, survey_id: int, scope: Scope, filters: Filters
) -> dict[str | None, int]:
    stmt = (
        select(Response.municipality_code, func.count())
        .where(*response_conditions(survey_id, scope, filters))
        .group_by(Response.municipality_code)
    )
    return dict(session.execute(stmt).all())


def _counts(session: Session, defn: SurveyDef, scope: Scope, filters: Filters) -> Counts:
    """Answers per question, answer code and municipality: option rows and value rows."""
    code_of = {o.id: o.code for q in defn.questions for o in q.options if o.id is not None}
    counts: Counts = defaultdict(int)
    options = answers_in_view(
        select(Answer.question_id, Answer.option_id, Answer.municipality_code, func.count())
        .where(Answer.option_id.is_not(None))
        # In the counting index's order, so the rows are counted as the index is read.
        .group_by(Answer.question_id, Answer.municipality_code, Answer.option_id),
        defn.id,
        scope,
        filters,
    )
    for question_id, option_id, place, n in session.execute(options):
        counts[(question_id, code_of.get(option_id, "?"), place)] += n
    _value_counts(session, defn, scope, filters, counts)
    return counts


def _value_counts(
    session: Session, defn: SurveyDef, scope: Scope, filters: Filters, counts: Counts
) -> None:
    """Add the closed answers stored as values: grades (from the counting index), the
    municipality (the copy on every answer row, when the survey asks it once) and the rest
    (a volunteer's ja/nee, a second municipality question) from the rows themselves."""
    grades = [q.id for q in defn.questions if q.type is QuestionType.GRADE]
    places = [q.id for q in defn.questions if q.type is QuestionType.MUNICIPALITY]
    texts = [q.id for q in defn.questions if q.type is QuestionType.VOLUNTEER]
    if len(places) > 1:
        texts += places
        places = []
    plan: list[tuple[list[int], Any, list[Any]]] = [
        (grades, Answer.value_number, [Answer.option_id.is_(None)]),
        (places, Answer.municipality_code, []),
        (texts, Answer.value_text, [Answer.option_id.is_(None)]),
    ]
    for ids, value, conditions in plan:
        if not ids:
            continue
        stmt = answers_in_view(
            select(Answer.question_id, Answer.municipality_code, value, func.count())
            .where(Answer.question_id.in_(ids), *conditions)
            .group_by(Answer.question_id, Answer.municipality_code, value),
            defn.id,
            scope,
            filters,
        )
        for question_id, place, code, n in session.execute(stmt):
            if code is not None:
                key = code if isinstance(code, str) else f"{code:g}"
                counts[(question_id, key, place)] += n


def _answered(
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    counts: Counts,
    sums: dict[tuple[int, str | None], tuple[int, float]],
) -> dict[tuple[int, str | None], int]:
    """Respondents who answered each question, per municipality."""
    answered: dict[tuple[int, str | None], int] = defaultdict(int)
    for (question_id, place), (n, _total) in sums.items():
        if _by_id(defn)[question_id].type is not QuestionType.GRADE:  # grades are counted
            answered[(question_id, place)] = n
    volunteer_activity = {
        o.code for q in defn.questions if q.type is QuestionType.VOLUNTEER for o in q.options
    }
    for (question_id, code, place), n in counts.items():
        q = _by_id(defn)[question_id]
        if q.type in MANY_ROWS:
            continue
        if q.type is QuestionType.VOLUNTEER and code in volunteer_activity:
            continue  # the activities ride along with the ja/nee row
        answered[(question_id, place)] += n
    many = [q.id for q in defn.questions if q.type in MANY_ROWS]
    if many:
        # Each respondent's first pick carries value_number 1 (surveys.services._values):
        # counting those rows reads the respondents off the counting index.
        stmt = answers_in_view(
            select(Answer.question_id, Answer.municipality_code, func.count())
            .where(Answer.question_id.in_(many), Answer.value_number == 1)
            .group_by(Answer.question_id, Answer.municipality_code),
            defn.id,
            scope,
            filters,
        )
        for question_id, place, n in session.execute(stmt):
            answered[(question_id, place)] = n
    return answered


def _sums(
    session: Session, defn: SurveyDef, scope: Scope, filters: Filters
) -> dict[tuple[int, str | None], tuple[int, float]]:
    """(count, sum) of the numeric answers per question and municipality, for means."""
    numeric = [q.id for q in defn.questions if q.type in NUMERIC]
    if not numeric:
        return {}
    stmt = answers_in_view(
        select(
            Answer.question_id,
            Answer.municipality_code,
            func.count(Answer.value_number),
            func.sum(Answer.value_number),
        )
        .where(Answer.question_id.in_(numeric), Answer.value_number.is_not(None))
        .group_by(Answer.question_id, Answer.municipality_code),
        defn.id,
        scope,
        filters,
    )
    return {(q, place): (n, float(s or 0)) for q, place, n, s in session.execute(stmt)}


_BY_ID: dict[tuple[int, str], dict[int, QuestionDef]] = {}


def answer_code(
    q: QuestionDef, option_id: int | None, text: str | None, number: float | None
) -> str:
    """What an answer row stands for: its option's code, else its text (a municipality,
    ja/nee), else its number as the form offered it (a grade: "7")."""
    if option_id is not None:
        return next((o.code for o in q.options if o.id == option_id), "?")
    return text if text is not None else f"{number:g}"


def _by_id(defn: SurveyDef) -> dict[int, QuestionDef]:
    key = (defn.id, defn.revision)
    if key not in _BY_ID:
        _BY_ID[key] = {q.id: q for q in defn.questions}
    return _BY_ID[key]


def _choices(q: QuestionDef) -> list[tuple[str, str]]:
    if q.type is QuestionType.VOLUNTEER:
        return [("ja", "Ja"), ("nee", "Nee")]
    if q.type in (QuestionType.NUMBER, QuestionType.AGE):
        return []
    return [(o.code, o.label) for o in q.options]


def _table(
    q: QuestionDef,
    columns: list[Column],
    counts: Counts,
    answered: dict[tuple[int, str | None], int],
    sums: dict[tuple[int, str | None], tuple[int, float]],
    minimum: int,
) -> QuestionTable:
    places = [c.code for c in columns[1:]]

    def in_column(values: Mapping[tuple[int, str | None], int], column: Column) -> int:
        if column.total:
            return sum(values.get((q.id, place), 0) for place in places)
        return values.get((q.id, column.code), 0)

    bases = [in_column(answered, c) for c in columns]
    rows = []
    choices = _choices(q)
    if q.type is QuestionType.MUNICIPALITY:  # only the municipalities in view, never others
        choices = [(code, label) for code, label in choices if code in places]
    for code, label in choices:
        per_place = {(q.id, place): counts.get((q.id, code, place), 0) for place in places}
        cells = [
            protect(in_column(per_place, c), base, minimum)
            for c, base in zip(columns, bases, strict=True)
        ]
        rows.append(Row(code, label, cells))
    answered_cells = [
        protect(base, c.respondents, minimum) for c, base in zip(columns, bases, strict=True)
    ]
    means = None
    if q.type in NUMERIC or q.type is QuestionType.AGREE_SCALE:
        means = [_mean(q, c, places, counts, sums, minimum) for c in columns]
    return QuestionTable(q, rows, answered_cells, means)


def _mean(
    q: QuestionDef,
    column: Column,
    places: Iterable[str | None],
    counts: Counts,
    sums: dict[tuple[int, str | None], tuple[int, float]],
    minimum: int,
) -> float | None:
    chosen = list(places) if column.total else [column.code]
    if q.type is QuestionType.AGREE_SCALE:  # options 1..5: the mean of the codes
        n = sum(counts.get((q.id, str(v), p), 0) for v in range(1, 6) for p in chosen)
        total = sum(v * counts.get((q.id, str(v), p), 0) for v in range(1, 6) for p in chosen)
    else:
        n = sum(sums.get((q.id, p), (0, 0.0))[0] for p in chosen)
        total = sum(sums.get((q.id, p), (0, 0.0))[1] for p in chosen)
    return total / n if n >= minimum else None


def _per_source(
    session: Session, survey_id: int, scope: Scope, filters: Filters
) -> list[tuple[str, int]]:
    stmt = (
        select(Response.source, func.count())
        .where(*response_conditions(survey_id, scope, filters))
        .group_by(Response.source)
    )
    rows = [(source or "", n) for source, n in session.execute(stmt)]
    return sorted(rows, key=lambda row: -row[1])


def _per_day(
    session: Session, survey_id: int, scope: Scope, filters: Filters
) -> list[tuple[date, int]]:
    """Responses per day in Dutch time: counted per UTC hour in SQL, then put on their day."""
    if session.get_bind().dialect.name == "postgresql":
        hour = func.to_char(func.timezone("UTC", Response.submitted_at), "YYYY-MM-DD HH24")
    else:
        hour = func.strftime("%Y-%m-%d %H", Response.submitted_at)
    stmt = (
        select(hour, func.count())
        .where(*response_conditions(survey_id, scope, filters))
        .group_by(hour)
    )
    days: dict[date, int] = defaultdict(int)
    for stamp, n in session.execute(stmt):
        moment = datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC)
        days[moment.astimezone(AMSTERDAM).date()] += n
    return sorted(days.items())
