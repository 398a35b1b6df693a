"""Finding a public survey and storing a response exactly once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import exists, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from peiling import crypto
from peiling.database import dialect_name, execute_idempotent
from peiling.geo import as_utc
from peiling.surveys import removal
from peiling.surveys.answers import Cleaned, VolunteerData
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
    language: str | None = None
    # For a panel wave, which does not ask them: the member's municipality and age.
    municipality: str | None = None
    age: int | None = None
    profile: dict[str, str] | None = None
    # removal.hash_of(removal.code_for(token)), when the caller made the code already (to
    # show it); computed here otherwise.
    removal_hash: str | None = None


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
    if survey.closes_at is not None and as_utc(survey.closes_at) <= now:
        return Availability.CLOSED
    if survey.opens_at is not None and as_utc(survey.opens_at) > now:
        return Availability.NOT_YET_OPEN
    return Availability.OPEN


def token_used(session: Session, token: str) -> bool:
    return bool(session.scalar(select(exists().where(Response.submission_token == token))))


class SurveyChanged(Exception):
    """The survey was closed or edited since its definition was cached: look it up again."""


def store_response(
    session: Session, defn: SurveyDef, answers: dict[str, Cleaned], meta: ResponseMeta
) -> int:
    """Insert one response with its answers and volunteer details, atomically.

    The survey must still be open and at `defn.revision`, checked in the same transaction,
    so a cached definition can be used without looking the survey up first. Returns the
    new response id. Raises SurveyChanged when the check fails, and DuplicateSubmission
    when the token was used before (a double click, a refresh or a retry after a lost
    reply); nothing is stored in either case.
    """
    chosen = _first(defn.municipality_questions, answers)
    municipality = chosen.codes[0] if chosen is not None else meta.municipality
    given = _first(defn.age_questions, answers)
    age = int(given.number) if given is not None and given.number is not None else meta.age
    now = meta.submitted_at or datetime.now(UTC)
    values: dict[str, Any] = {
        "survey_id": defn.id,
        "submission_token": meta.token,
        "municipality_code": municipality,
        "age": age,
        "source": meta.source,
        "language": meta.language,
        "submitted_at": now,
        "profile": meta.profile,
        "removal_hash": meta.removal_hash or removal.hash_of(removal.code_for(meta.token)),
    }
    # On PostgreSQL the session is not touched, so no Session is even created for it.
    if dialect_name() == "postgresql":
        return _store_in_one_statement(defn, answers, values)
    if session.scalar(select(Survey.id).where(*_still_open(defn, now))) is None:
        session.rollback()
        raise SurveyChanged(defn.slug)
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


def _still_open(defn: SurveyDef, now: datetime) -> list[Any]:
    """The conditions of `availability()`, plus "not edited since `defn` was built"."""
    return [
        Survey.id == defn.id,
        Survey.slug == defn.slug,
        Survey.revision == defn.revision,
        Survey.status == SurveyStatus.OPEN,
        or_(Survey.opens_at.is_(None), Survey.opens_at <= now),
        or_(Survey.closes_at.is_(None), Survey.closes_at > now),
    ]


# One round trip instead of one per table: data-modifying CTEs run as one atomic statement
# (in autocommit mode, so without BEGIN and COMMIT round trips), and the answers travel as one
# JSON document (an array per value, see _ANSWERS_JSON), which keeps the SQL text fixed
# (prepared once per connection) and costs far less to send than four typed arrays. The
# survey check rides along in `s`; ON CONFLICT makes a reused token insert nothing rather
# than raise, which also makes the statement safe to retry.
STORE_STATEMENT_PG = """
WITH s AS (
    SELECT id FROM survey
    WHERE id = %(survey_id)s AND slug = %(slug)s AND revision = %(revision)s
      AND status = 'open'
      AND (opens_at IS NULL OR opens_at <= %(submitted_at)s)
      AND (closes_at IS NULL OR closes_at > %(submitted_at)s)
), r AS (
    INSERT INTO response
        (survey_id, submission_token, municipality_code, age, source, language, submitted_at,
         profile, removal_hash)
    SELECT s.id, %(submission_token)s, %(municipality_code)s, %(age)s, %(source)s,
           %(language)s, %(submitted_at)s, %(profile_json)s::json, %(removal_hash)s
    FROM s
    ON CONFLICT (submission_token) DO NOTHING
    RETURNING id
), a AS (
    INSERT INTO answer (response_id, position, survey_id, question_id, option_id,
                        municipality_code, value_number, value_text)
    SELECT r.id, a.n - 1, %(survey_id)s, (v->>0)::integer, (v->>1)::integer,
           %(municipality_code)s, (v->>2)::double precision, v->>3
    FROM r, json_array_elements(%(answers)s::json) WITH ORDINALITY AS a(v, n)
), vol AS (
    INSERT INTO volunteer (response_id, survey_id, municipality_code, name, email, phone,
                           activities, guardian_consent, declared_of_age, created_at)
    SELECT r.id, %(survey_id)s, %(municipality_code)s, %(name)s, %(email)s, %(phone)s,
           %(activities)s::json, %(guardian_consent)s::boolean,
           %(declared_of_age)s::boolean, %(submitted_at)s
    FROM r WHERE %(has_volunteer)s::boolean
)
SELECT (SELECT id FROM r), EXISTS (SELECT 1 FROM s)
"""


# Each answer value as a compact array [question_id, option_id, value_number, value_text]:
# a third of the encoding work of one object per value, and PostgreSQL reads either as fast.
_ANSWERS_JSON = json.JSONEncoder(check_circular=False, separators=(",", ":"))


def _store_in_one_statement(
    defn: SurveyDef, answers: dict[str, Cleaned], values: dict[str, Any]
) -> int:
    volunteer = _volunteer(answers)
    values.update(
        profile_json=json.dumps(values["profile"]) if values["profile"] is not None else None,
        slug=defn.slug,
        revision=defn.revision,
        answers=_ANSWERS_JSON.encode(answer_values(defn, answers)),
        has_volunteer=volunteer is not None,
        name=volunteer and crypto.encrypt(volunteer.name),
        email=volunteer and crypto.encrypt(volunteer.email),
        phone=volunteer and crypto.encrypt(volunteer.phone),
        activities=json.dumps(list(volunteer.activities)) if volunteer else "[]",
        guardian_consent=volunteer.guardian_consent if volunteer else None,
        declared_of_age=volunteer.declared_of_age if volunteer else None,
    )
    response_id, still_open = execute_idempotent(STORE_STATEMENT_PG, values)
    if still_open != "t":
        raise SurveyChanged(defn.slug)
    if response_id is None:
        raise DuplicateSubmission(values["submission_token"])
    return int(response_id)


def _first(questions: tuple[QuestionDef, ...], answers: dict[str, Cleaned]) -> Cleaned | None:
    """The first answer given to one of `questions`."""
    for q in questions:
        answer = answers.get(q.code)
        if answer is not None and not answer.empty:
            return answer
    return None


AnswerValue = tuple[int, int | None, float | None, str | None]


def answer_values(defn: SurveyDef, answers: dict[str, Cleaned]) -> list[AnswerValue]:
    """Turn validated answers into long-form values: one per option picked or value given.

    Each is (question_id, option_id, value_number, value_text).
    """
    rows: list[AnswerValue] = []
    for code, answer in answers.items():
        if answer.empty:
            continue
        q = defn.by_code[code]
        if q.type in _NUMBER_TYPES:
            rows.append((q.id, None, answer.number, None))
        elif q.type in _TEXT_TYPES:
            rows.append((q.id, None, None, answer.text))
        elif q.type is QuestionType.MUNICIPALITY:
            rows.append((q.id, None, None, answer.codes[0]))
        else:
            _add_choices(rows, q, answer)
    return rows


def answer_rows(
    defn: SurveyDef, answers: dict[str, Cleaned], response_id: int, municipality: str | None
) -> list[dict[str, Any]]:
    """The rows of table `answer` for one response."""
    return [
        {
            "response_id": response_id,
            "position": position,
            "survey_id": defn.id,
            "question_id": question_id,
            "municipality_code": municipality,
            "option_id": option_id,
            "value_number": number,
            "value_text": text,
        }
        for position, (question_id, option_id, number, text) in enumerate(
            answer_values(defn, answers)
        )
    ]


_NUMBER_TYPES = frozenset({QuestionType.NUMBER, QuestionType.AGE, QuestionType.GRADE})
_TEXT_TYPES = frozenset({QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT})


def _add_choices(rows: list[AnswerValue], q: QuestionDef, answer: Cleaned) -> None:
    """A row per option picked (and a volunteer's ja/nee first)."""
    if q.type is QuestionType.VOLUNTEER:
        rows.append((q.id, None, None, "ja" if answer.willing else "nee"))
    # A multiple-choice answer marks its first pick with value_number 1, so that the
    # respondents of the question are counted from the counting index alone (analysis).
    marker = 1.0 if q.type is QuestionType.MULTIPLE_CHOICE else None
    for code in answer.codes:
        option = q.option(code)
        assert option is not None  # noqa: S101 - validated in answers.clean
        rows.append((q.id, option.id, marker, answer.other if option.is_other else None))
        marker = None


def _volunteer(answers: dict[str, Cleaned]) -> VolunteerData | None:
    for answer in answers.values():
        if answer.volunteer is not None:
            return answer.volunteer
    return None


def volunteer_row(
    defn: SurveyDef, answers: dict[str, Cleaned], response_id: int, municipality: str | None
) -> dict[str, Any] | None:
    volunteer = _volunteer(answers)
    if volunteer is None:
        return None
    return {
        "response_id": response_id,
        "survey_id": defn.id,
        "municipality_code": municipality,
        # Encrypted at rest (peiling.crypto); only the volunteers pages decrypt.
        "name": crypto.encrypt(volunteer.name),
        "email": crypto.encrypt(volunteer.email),
        "phone": crypto.encrypt(volunteer.phone),
        "activities": list(volunteer.activities),
        "guardian_consent": volunteer.guardian_consent,
        "declared_of_age": volunteer.declared_of_age,
    }
