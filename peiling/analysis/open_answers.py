"""Open answers (text questions and "anders, namelijk"), searchable, within scope and filters.

Texts can give a young respondent away, so for a group smaller than the minimum they are
shown only to users with the volunteers permission (who may see contact details anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peiling.analysis.filters import Filters, answers_in_view, response_conditions
from peiling.auth.access import Scope
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import Answer, QuestionType, Response

TEXT_TYPES = frozenset({QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT})
LIMIT = 500  # per question and page view; the count says how many there are in all


@dataclass
class OpenQuestion:
    question: QuestionDef
    other: bool  # the texts of "anders, namelijk"
    texts: list[str] = field(default_factory=list)
    total: int = 0


@dataclass
class OpenAnswers:
    questions: list[OpenQuestion]
    respondents: int
    withheld: bool  # the group is too small to show texts to this user


def open_answers(
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    search: str = "",
    minimum: int = 5,
) -> OpenAnswers:
    respondents = (
        session.scalar(
            select(func.count())
            .select_from(Response)
            .where(*response_conditions(defn.id, scope, filters))
        )
        or 0
    )
    wanted = [
        OpenQuestion(q, other=q.type not in TEXT_TYPES)
        for q in defn.questions
        if q.type in TEXT_TYPES or any(o.is_other for o in q.options)
    ]
    if respondents < minimum and not scope.volunteers:
        return OpenAnswers(wanted, respondents, withheld=True)
    for item in wanted:
        stmt = answers_in_view(select(Answer.value_text), defn.id, scope, filters).where(
            Answer.question_id == item.question.id, Answer.value_text.is_not(None)
        )
        if item.other:
            others = [o.id for o in item.question.options if o.is_other and o.id is not None]
            stmt = stmt.where(Answer.option_id.in_(others))
        if search.strip():
            needle = search.strip().lower()  # % and _ match themselves (autoescape)
            stmt = stmt.where(func.lower(Answer.value_text).contains(needle, autoescape=True))
        item.total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        newest_first = stmt.order_by(Answer.response_id.desc(), Answer.position.desc())
        item.texts = list(session.scalars(newest_first.limit(LIMIT)))
    return OpenAnswers(wanted, respondents, withheld=False)
