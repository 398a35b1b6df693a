"""Aggregations over answers, computed in the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peiling.auth.access import Scope
from peiling.surveys.models import Answer, Response, Survey


@dataclass(frozen=True)
class SurveySummary:
    id: int
    slug: str
    title: str
    status: str
    responses: int


def survey_overview(session: Session, scope: Scope | None = None) -> list[SurveySummary]:
    """Every survey with its number of responses within `scope` (one grouped query)."""
    responses = select(Response.survey_id, func.count().label("n"))
    if scope is not None and scope.municipalities is not None:
        responses = responses.where(Response.municipality_code.in_(sorted(scope.municipalities)))
    counts = responses.group_by(Response.survey_id).subquery()
    rows = session.execute(
        select(Survey.id, Survey.slug, Survey.title, Survey.status, counts.c.n)
        .outerjoin(counts, counts.c.survey_id == Survey.id)
        .order_by(Survey.created_at.desc())
    )
    return [SurveySummary(r.id, r.slug, r.title, r.status.value, r.n or 0) for r in rows]


CountRow = tuple[int, int | None, str | None, int]


def option_counts(session: Session, survey_id: int) -> list[CountRow]:
    """Count answers per question, option and municipality in one GROUP BY.

    Served from the covering index ix_answer_counts without touching the answer rows.
    """
    stmt = (
        select(Answer.question_id, Answer.option_id, Answer.municipality_code, func.count())
        .where(Answer.survey_id == survey_id, Answer.option_id.is_not(None))
        .group_by(Answer.question_id, Answer.option_id, Answer.municipality_code)
    )
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]
