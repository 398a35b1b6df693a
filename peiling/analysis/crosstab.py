"""A crosstab of two closed questions: respondents per pair of answers, with row percentages.

One GROUP BY over the answers of the two questions joined on their response, within the
user's scope and the filters; small cells are hidden like every other figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, aliased

from peiling.analysis.filters import Filters, answers_in_view
from peiling.analysis.results import _choices, answer_code
from peiling.analysis.stats import Cell, protect
from peiling.auth.access import Scope
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import Answer, QuestionType

# Closed questions with a handful of categories (not numbers or ages).
CATEGORICAL = frozenset(
    {
        QuestionType.SINGLE_CHOICE,
        QuestionType.MULTIPLE_CHOICE,
        QuestionType.YES_NO,
        QuestionType.AGREE_SCALE,
        QuestionType.GRADE,
        QuestionType.MUNICIPALITY,
        QuestionType.VOLUNTEER,
    }
)


@dataclass
class Crosstab:
    rows: QuestionDef
    columns: QuestionDef
    row_labels: list[tuple[str, str]]
    column_labels: list[tuple[str, str]]
    cells: list[list[Cell]]  # per row, per column: count with the row's total as base
    row_totals: list[int]


def crosstab_questions(defn: SurveyDef) -> list[QuestionDef]:
    return [q for q in defn.questions if q.type in CATEGORICAL]


def crosstab(
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    row_code: str,
    column_code: str,
    minimum: int = 5,
) -> Crosstab | None:
    """The crosstab of two questions of `defn` (None if either is not a closed question)."""
    row_q, col_q = defn.by_code.get(row_code), defn.by_code.get(column_code)
    if row_q is None or col_q is None or row_q is col_q:
        return None
    if row_q.type not in CATEGORICAL or col_q.type not in CATEGORICAL:
        return None
    other = aliased(Answer)
    pair = (
        Answer.option_id,
        Answer.value_text,
        Answer.value_number,
        other.option_id,
        other.value_text,
        other.value_number,
    )
    stmt: Any = select(*pair, func.count(distinct(Answer.response_id))).join(
        other, other.response_id == Answer.response_id
    )
    stmt = answers_in_view(stmt, defn.id, scope, filters).where(
        Answer.question_id == row_q.id, other.question_id == col_q.id
    )
    for alias, q in ((Answer, row_q), (other, col_q)):
        if q.type is QuestionType.VOLUNTEER:  # the ja/nee row, not the activities
            stmt = stmt.where(alias.option_id.is_(None))
    stmt = stmt.group_by(*pair)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r_opt, r_text, r_num, c_opt, c_text, c_num, n in session.execute(stmt):
        counts[
            (answer_code(row_q, r_opt, r_text, r_num), answer_code(col_q, c_opt, c_text, c_num))
        ] += n
    totals = _row_respondents(session, defn, scope, filters, row_q, col_q)
    row_labels = _labels(row_q, set(totals))
    column_labels = _labels(col_q, {c for _r, c in counts})
    cells = [
        [protect(counts.get((r, c), 0), totals.get(r, 0), minimum) for c, _label in column_labels]
        for r, _label in row_labels
    ]
    return Crosstab(
        row_q, col_q, row_labels, column_labels, cells, [totals.get(r, 0) for r, _l in row_labels]
    )


def _labels(q: QuestionDef, seen: set[str]) -> list[tuple[str, str]]:
    """The answers of `q`; for a municipality question only those in the results, so that
    nobody sees (even empty) rows of municipalities outside her scope."""
    labels = _choices(q)
    if q.type is QuestionType.MUNICIPALITY:
        labels = [(code, label) for code, label in labels if code in seen]
    return labels


def _row_respondents(
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    row_q: QuestionDef,
    col_q: QuestionDef,
) -> dict[str, int]:
    """Per row answer, the respondents who also answered the column question (the base of
    the row percentages; with multiple choice a respondent can be in several cells)."""
    other = aliased(Answer)
    answered_other = select(other.response_id).where(other.question_id == col_q.id)
    stmt: Any = select(
        Answer.option_id,
        Answer.value_text,
        Answer.value_number,
        func.count(distinct(Answer.response_id)),
    )
    stmt = answers_in_view(stmt, defn.id, scope, filters).where(
        Answer.question_id == row_q.id, Answer.response_id.in_(answered_other)
    )
    if row_q.type is QuestionType.VOLUNTEER:
        stmt = stmt.where(Answer.option_id.is_(None))
    stmt = stmt.group_by(Answer.option_id, Answer.value_text, Answer.value_number)
    totals: dict[str, int] = defaultdict(int)
    for option_id, text, number, n in session.execute(stmt):
        totals[answer_code(row_q, option_id, text, number)] += n
    return totals
