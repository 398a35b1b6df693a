"""Results of one survey per question, option and municipality, counted in the database.

Every figure comes from a handful of `GROUP BY` queries over the long-form answers; Python
only shapes the counts (never one row per response). What a user sees is limited by her
Scope in SQL, and small groups are protected (stats.protect).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from peiling.analysis.counting import CLOSED, MANY_ROWS, NUMERIC, Counts
from peiling.analysis.filters import Filters
from peiling.analysis.stats import Cell, protect
from peiling.analysis.tally import counted
from peiling.auth.access import Scope
from peiling.geo import Municipality
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import QuestionType


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


AnswerCounts = Mapping[tuple[int, str, str | None], int]  # (question, answer code, place)
Sums = Mapping[tuple[int, str | None], tuple[int, float]]  # (question, place): (n, sum)


def results(
    session: Session, defn: SurveyDef, scope: Scope, filters: Filters, minimum: int = 5
) -> Results:
    """Every closed question's counts, percentages and means, in total and per municipality."""
    counts = counted(session, defn, scope, filters)
    names = dict(session.execute(select(Municipality.code, Municipality.name)).all())
    per_place = counts.responses
    columns = [Column(None, "", sum(per_place.values()), total=True)]
    columns += [
        Column(code, names.get(code or "", ""), n)
        for code, n in sorted(per_place.items(), key=lambda kv: names.get(kv[0] or "", "~"))
    ]
    answered = _answered(defn, counts)
    tables = [
        _table(q, columns, counts.answers, answered, counts.sums, minimum)
        for q in defn.questions
        if q.type in CLOSED
    ]
    return Results(
        defn,
        columns,
        tables,
        per_day=_per_day(counts),
        per_source=_per_source(counts),
        minimum=minimum,
    )


def _answered(defn: SurveyDef, counts: Counts) -> dict[tuple[int, str | None], int]:
    """Respondents who answered each question, per municipality."""
    answered: dict[tuple[int, str | None], int] = defaultdict(int)
    for (question_id, place), (n, _total) in counts.sums.items():
        if _by_id(defn)[question_id].type is not QuestionType.GRADE:  # grades are counted
            answered[(question_id, place)] = n
    volunteer_activity = {
        o.code for q in defn.questions if q.type is QuestionType.VOLUNTEER for o in q.options
    }
    for (question_id, code, place), n in counts.answers.items():
        q = _by_id(defn).get(question_id)
        if q is None or q.type in MANY_ROWS:
            continue
        if q.type is QuestionType.VOLUNTEER and code in volunteer_activity:
            continue  # the activities ride along with the ja/nee row
        answered[(question_id, place)] += n
    for key, n in counts.pickers.items():
        answered[key] = n
    return answered


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
    counts: AnswerCounts,
    answered: dict[tuple[int, str | None], int],
    sums: Sums,
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
    counts: AnswerCounts,
    sums: Sums,
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


def _per_source(counts: Counts) -> list[tuple[str, int]]:
    per_source: dict[str, int] = defaultdict(int)
    for (_place, source), n in counts.sources.items():
        per_source[source or ""] += n
    return sorted(per_source.items(), key=lambda row: -row[1])


def _per_day(counts: Counts) -> list[tuple[date, int]]:
    """Responses per day in Dutch time."""
    days: dict[date, int] = defaultdict(int)
    for (_place, day), n in counts.days.items():
        days[date.fromisoformat(day)] += n
    return sorted(days.items())
