"""The counts every results figure is made from, in a handful of `GROUP BY` queries.

Each count is kept per municipality, so that the counts of a scope or a municipality
filter are a selection of them, and every kind is additive: the counts of two sets of
responses are the sum of their counts. That is what lets analysis.tally keep the counts of
the responses seen so far and add only those of the newer ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from peiling.analysis.filters import Filters, answers_in_view, response_conditions
from peiling.auth.access import Scope
from peiling.geo import dutch_hour, utc_hour
from peiling.surveys.definition import SurveyDef
from peiling.surveys.models import Answer, QuestionType, Response

# Questions whose answers are counted per option or value; the others (texts) are listed.
CLOSED = frozenset(QuestionType) - {QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT}
NUMERIC = frozenset({QuestionType.NUMBER, QuestionType.AGE, QuestionType.GRADE})
MANY_ROWS = frozenset({QuestionType.MULTIPLE_CHOICE})  # one respondent, several rows

Place = str | None  # a CBS code; None for responses without a municipality
View = Callable[[Select[Any]], Select[Any]]  # an answer query narrowed to what is in view
FEW = 20_000  # responses: below this, the answers of a window are read by response id


@dataclass
class Counts:
    """Additive counts of a set of responses, each per municipality."""

    # respondents
    responses: dict[Place, int] = field(default_factory=lambda: defaultdict(int))
    # (question id, answer code, municipality) -> answers
    answers: dict[tuple[int, str, Place], int] = field(default_factory=lambda: defaultdict(int))
    # (question id, municipality) -> (numbers given, their sum)
    sums: dict[tuple[int, Place], tuple[int, float]] = field(default_factory=dict)
    # (question id, municipality) -> respondents of a multiple-choice question
    pickers: dict[tuple[int, Place], int] = field(default_factory=lambda: defaultdict(int))
    # (municipality, day in Dutch time as YYYY-MM-DD) -> responses
    days: dict[tuple[Place, str], int] = field(default_factory=lambda: defaultdict(int))
    # (municipality, source tag or None) -> responses
    sources: dict[tuple[Place, str | None], int] = field(default_factory=lambda: defaultdict(int))
    # the sum of the counted responses' ids, by which analysis.tally checks kept counts
    id_sum: int = 0

    def add(self, other: Counts) -> Counts:
        """Add `other`'s counts to these; returns self."""
        for mine, theirs in (
            (self.responses, other.responses),
            (self.answers, other.answers),
            (self.pickers, other.pickers),
            (self.days, other.days),
            (self.sources, other.sources),
        ):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n  # type: ignore[index]
        self.id_sum += other.id_sum
        for key, (n, total) in other.sums.items():
            had_n, had_total = self.sums.get(key, (0, 0.0))
            self.sums[key] = (had_n + n, had_total + total)
        return self

    def within(self, places: frozenset[str] | None) -> Counts:
        """Only the counts of these municipalities (all of them when None)."""
        if places is None:
            return self
        return Counts(
            responses={p: n for p, n in self.responses.items() if p in places},
            answers={k: n for k, n in self.answers.items() if k[2] in places},
            sums={k: v for k, v in self.sums.items() if k[1] in places},
            pickers={k: n for k, n in self.pickers.items() if k[1] in places},
            days={k: n for k, n in self.days.items() if k[0] in places},
            sources={k: n for k, n in self.sources.items() if k[0] in places},
        )


def count(session: Session, defn: SurveyDef, scope: Scope, filters: Filters) -> Counts:
    """Count the responses in view straight from the tables."""
    counts = Counts()
    conditions = response_conditions(defn.id, scope, filters)
    place = Response.municipality_code
    for p, n, ids in session.execute(
        select(place, func.count(), func.sum(Response.id)).where(*conditions).group_by(place)
    ):
        counts.responses[p] = n
        counts.id_sum += int(ids or 0)
    source = Response.source
    by_source = select(place, source, func.count()).where(*conditions).group_by(place, source)
    for p, tag, n in session.execute(by_source):
        counts.sources[(p, tag)] = n
    _days(session, conditions, counts)
    few = filters.after_id is not None and sum(counts.responses.values()) < FEW

    def view(stmt: Select[Any]) -> Select[Any]:
        return answers_in_view(stmt, defn.id, scope, filters, by_response=few)

    _option_counts(session, defn, view, counts)
    _value_counts(session, defn, view, counts)
    _sums(session, defn, view, counts)
    _pickers(session, defn, view, counts)
    return counts


def _days(session: Session, conditions: list, counts: Counts) -> None:  # type: ignore[type-arg]
    """Responses per day in Dutch time (per UTC hour in SQL, see geo.utc_hour)."""
    hour = utc_hour(session, Response.submitted_at)
    place = Response.municipality_code
    stmt = select(place, hour, func.count()).where(*conditions).group_by(place, hour)
    for p, stamp, n in session.execute(stmt):
        counts.days[(p, dutch_hour(stamp).date().isoformat())] += n


def _option_counts(session: Session, defn: SurveyDef, view: View, counts: Counts) -> None:
    code_of = {o.id: o.code for q in defn.questions for o in q.options if o.id is not None}
    stmt = view(
        select(Answer.question_id, Answer.option_id, Answer.municipality_code, func.count())
        .where(Answer.option_id.is_not(None))
        # In the counting index's order, so the rows are counted as the index is read.
        .group_by(Answer.question_id, Answer.municipality_code, Answer.option_id)
    )
    for question_id, option_id, place, n in session.execute(stmt):
        counts.answers[(question_id, code_of.get(option_id, "?"), place)] += n


def _value_counts(session: Session, defn: SurveyDef, view: View, counts: Counts) -> None:
    """Add the closed answers stored as values: grades (from the counting index), the
    municipality (the copy on every answer row, when the survey asks it once) and the rest
    (a volunteer's ja/nee, a second municipality question) from the rows themselves."""
    grades = [q.id for q in defn.questions if q.type is QuestionType.GRADE]
    places = [q.id for q in defn.questions if q.type is QuestionType.MUNICIPALITY]
    texts = [q.id for q in defn.questions if q.type is QuestionType.VOLUNTEER]
    if len(places) > 1:
        texts += places
        places = []
    plan: list[tuple[list[int], object, list[object]]] = [
        (grades, Answer.value_number, [Answer.option_id.is_(None)]),
        (places, Answer.municipality_code, []),
        (texts, Answer.value_text, [Answer.option_id.is_(None)]),
    ]
    for ids, value, conditions in plan:
        if not ids:
            continue
        stmt = view(
            select(Answer.question_id, Answer.municipality_code, value, func.count())  # type: ignore[call-overload]
            .where(Answer.question_id.in_(ids), *conditions)
            .group_by(Answer.question_id, Answer.municipality_code, value)
        )
        for question_id, place, code, n in session.execute(stmt):
            if code is not None:
                key = code if isinstance(code, str) else f"{code:g}"
                counts.answers[(question_id, key, place)] += n


def _sums(session: Session, defn: SurveyDef, view: View, counts: Counts) -> None:
    """(count, sum) of the numeric answers per question and municipality, for means."""
    numeric = [q.id for q in defn.questions if q.type in NUMERIC]
    if not numeric:
        return
    stmt = view(
        select(
            Answer.question_id,
            Answer.municipality_code,
            func.count(Answer.value_number),
            func.sum(Answer.value_number),
        )
        .where(Answer.question_id.in_(numeric), Answer.value_number.is_not(None))
        .group_by(Answer.question_id, Answer.municipality_code)
    )
    for question_id, place, n, total in session.execute(stmt):
        counts.sums[(question_id, place)] = (n, float(total or 0))


def _pickers(session: Session, defn: SurveyDef, view: View, counts: Counts) -> None:
    """Respondents of each multiple-choice question. Each respondent's first pick carries
    value_number 1 (surveys.services._values): counting those rows reads the respondents
    off the counting index."""
    many = [q.id for q in defn.questions if q.type in MANY_ROWS]
    if not many:
        return
    stmt = view(
        select(Answer.question_id, Answer.municipality_code, func.count())
        .where(Answer.question_id.in_(many), Answer.value_number == 1)
        .group_by(Answer.question_id, Answer.municipality_code)
    )
    for question_id, place, n in session.execute(stmt):
        counts.pickers[(question_id, place)] = n
