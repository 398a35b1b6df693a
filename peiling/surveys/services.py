"""Finding a public survey and storing a response exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from peiling.surveys.answers import Cleaned
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import (
    Answer,
    QuestionType,
    Response,
    Survey,
    SurveyStatus,
    Volunteer,
)


class Availability(Enum):
    OPEN = 200
    NOT_FOUND = 404  # unknown or still a draft: the public must not learn it exists
    NOT_YET_OPEN = 403
    CLOSED = 410


class DuplicateSubmission(Exception):
    """The form token was already used: this response is stored already."""


@dataclass(frozen=True)
class ResponseMeta:
    token: str
    source: str | None = None
    submitted_at: datetime | None = None


def find_survey(session: Session, slug: str) -> Survey | None:
    """Load a survey by slug (the one query a public page view runs)."""
    return session.execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()


def availability(survey: Survey | None, now: datetime | None = None) -> Availability:
    """Tell whether the public may answer `survey` right now."""
    if survey is None or survey.status is SurveyStatus.DRAFT:
        return Availability.NOT_FOUND
    if survey.status is SurveyStatus.CLOSED:
        return Availability.CLOSED
    now = now or datetime.now(UTC)
    if survey.closes_at is not None and _aware(survey.closes_at) <= now:
        return Availability.CLOSED
    if survey.opens_at is not None and _aware(survey.opens_at) > now:
        return Availability.NOT_YET_OPEN
    return Availability.OPEN


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def token_used(session: Session, token: str) -> bool:
    return bool(session.scalar(select(exists().where(Response.submission_token == token))))


def store_response(
    session: Session, defn: SurveyDef, answers: dict[str, Cleaned], meta: ResponseMeta
) -> int:
    """Insert one response with its answers and volunteer details in one transaction.

    Returns the new response id. Raises DuplicateSubmission when the token was used before
    (a double click, a refresh or a retry after a lost reply); the transaction is rolled back.
    """
    municipality = _first(defn, answers, QuestionType.MUNICIPALITY, lambda a: a.codes[0])
    age = _first(defn, answers, QuestionType.AGE, lambda a: int(a.number))
    values: dict[str, Any] = {
        "survey_id": defn.id,
        "submission_token": meta.token,
        "municipality_code": municipality,
        "age": age,
        "source": meta.source,
        "submitted_at": meta.submitted_at or datetime.now(UTC),
    }
    try:
        response_id = session.execute(
            insert(Response).values(values).returning(Response.id)
        ).scalar_one()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicateSubmission(meta.token) from exc
    rows = answer_rows(defn, answers, response_id, municipality)
    if rows:
        session.execute(insert(Answer), rows)
    volunteer = volunteer_row(defn, answers, response_id, municipality)
    if volunteer:
        session.execute(insert(Volunteer), [volunteer])
    session.commit()
    return response_id


def _first(defn: SurveyDef, answers: dict[str, Cleaned], qtype: QuestionType, get: Any) -> Any:
    for q in defn.questions:
        if q.type is qtype and q.code in answers and not answers[q.code].empty:
            return get(answers[q.code])
    return None


def answer_rows(
    defn: SurveyDef, answers: dict[str, Cleaned], response_id: int, municipality: str | None
) -> list[dict[str, Any]]:
    """Turn validated answers into long-form rows: one per option picked or value given."""
    rows: list[dict[str, Any]] = []
    for code, answer in answers.items():
        if answer.empty:
            continue
        q = defn.by_code[code]
        base = {
            "response_id": response_id,
            "survey_id": defn.id,
            "question_id": q.id,
            "municipality_code": municipality,
            "option_id": None,
            "value_number": None,
            "value_text": None,
        }
        rows.extend(base | part for part in _values(q, answer))
    return rows


def _values(q: QuestionDef, answer: Cleaned) -> list[dict[str, Any]]:
    if q.type in (QuestionType.NUMBER, QuestionType.AGE, QuestionType.GRADE):
        return [{"value_number": answer.number}]
    if q.type in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT):
        return [{"value_text": answer.text}]
    if q.type is QuestionType.MUNICIPALITY:
        return [{"value_text": answer.codes[0]}]
    parts = []
    if q.type is QuestionType.VOLUNTEER:
        parts.append({"value_text": "ja" if answer.willing else "nee"})
    for code in answer.codes:
        option = q.option(code)
        assert option is not None  # noqa: S101 - validated in answers.clean
        other = answer.other if option.is_other else None
        parts.append({"option_id": option.id, "value_text": other})
    return parts


def volunteer_row(
    defn: SurveyDef, answers: dict[str, Cleaned], response_id: int, municipality: str | None
) -> dict[str, Any] | None:
    for answer in answers.values():
        if answer.volunteer is not None:
            return {
                "response_id": response_id,
                "survey_id": defn.id,
                "municipality_code": municipality,
                "name": answer.volunteer.name,
                "email": answer.volunteer.email,
                "phone": answer.volunteer.phone,
                "activities": list(answer.volunteer.activities),
            }
    return None
