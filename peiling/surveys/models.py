"""Questionnaires (survey, page, question, option) and what respondents send (response, answer,
volunteer)."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from peiling.extensions import db

# A response's source is a short tag: ?bron=instagram, a class, "panel-<address>".
SOURCE_MAX = 40


def utcnow() -> datetime:
    return datetime.now(UTC)


class Moment(TypeDecorator[datetime]):
    """A moment, stored in UTC on both databases. SQLite keeps a datetime's wall time and
    drops its offset: "09:00+02:00", stored as it came, read back as 09:00 UTC. So every
    moment with a zone is turned into UTC when it is bound (stored or compared with)."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value


def new_revision() -> str:
    return secrets.token_hex(8)


class SurveyKind(enum.StrEnum):
    FLASH_POLL = "flash_poll"
    PANEL = "panel"


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionType(enum.StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    AGREE_SCALE = "agree_scale"
    GRADE = "grade"
    NUMBER = "number"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    AGE = "age"
    MUNICIPALITY = "municipality"
    VOLUNTEER = "volunteer"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: same schema on SQLite and PostgreSQL,
    # and adding a value later is a simple migration instead of ALTER TYPE.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class Survey(db.Model):
    """A questionnaire: a flash poll or a panel wave."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[SurveyKind] = mapped_column(_enum(SurveyKind, "survey_kind"))
    status: Mapped[SurveyStatus] = mapped_column(
        _enum(SurveyStatus, "survey_status"), default=SurveyStatus.DRAFT
    )
    opens_at: Mapped[datetime | None] = mapped_column(Moment())
    closes_at: Mapped[datetime | None] = mapped_column(Moment())
    # When staff closed it by hand (closes_at is the planned close): retention counts from
    # whichever came first.
    closed_at: Mapped[datetime | None] = mapped_column(Moment())
    age_min: Mapped[int] = mapped_column(Integer, default=12)
    age_max: Mapped[int] = mapped_column(Integer, default=25)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    privacy_statement: Mapped[str] = mapped_column(Text, default="")
    allow_multiple_responses: Mapped[bool] = mapped_column(Boolean, default=False)
    # Languages offered besides Dutch (which every questionnaire has), such as ["en"]; the
    # texts themselves live in each row's `translations` (see surveys/translation.py).
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    # {"en": {"title": ..., "introduction": ..., "privacy_statement": ...}}
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)
    # Replaced on every change to the questionnaire, so that workers can cache the compiled
    # definition and still notice an edit with the one query a page view needs anyway.
    # Random rather than a counter: a deleted and re-created survey never matches a stale
    # cache entry even if the database hands out the same id again.
    revision: Mapped[str] = mapped_column(String(32), default=new_revision)
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)

    pages: Mapped[list[Page]] = relationship(
        back_populates="survey", order_by="Page.position", cascade="all, delete-orphan"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan"
    )


class Page(db.Model):
    """A page of questions, optionally shown only when an earlier answer matches."""

    __tablename__ = "survey_page"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")
    show_if: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(
        JSON
    )  # {"en": {"title"}}

    survey: Mapped[Survey] = relationship(back_populates="pages")
    questions: Mapped[list[Question]] = relationship(
        back_populates="page", order_by="Question.position"
    )


class Question(db.Model):
    """A question; `position` orders it within the whole survey, `code` names it for good."""

    __tablename__ = "question"
    __table_args__ = (
        UniqueConstraint("survey_id", "code"),
        UniqueConstraint("survey_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    page_id: Mapped[int] = mapped_column(ForeignKey("survey_page.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    type: Mapped[QuestionType] = mapped_column(_enum(QuestionType, "question_type"))
    text: Mapped[str] = mapped_column(Text)
    help_text: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Type-specific settings: min/max, max_choices, other, max_length, decimal.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    show_if: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {"en": {"text": ..., "help": ...}}
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)

    survey: Mapped[Survey] = relationship(back_populates="questions")
    page: Mapped[Page] = relationship(back_populates="questions")
    options: Mapped[list[Option]] = relationship(
        back_populates="question", order_by="Option.position", cascade="all, delete-orphan"
    )


class Option(db.Model):
    """An answer option of a closed question; `is_other` marks "anders, namelijk"."""

    __tablename__ = "question_option"
    __table_args__ = (UniqueConstraint("question_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(Text)
    is_other: Mapped[bool] = mapped_column(Boolean, default=False)
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(
        JSON
    )  # {"en": {"label"}}

    question: Mapped[Question] = relationship(back_populates="options")


class Response(db.Model):
    """One completed questionnaire. Holds no IP address, user agent or other identifier."""

    __tablename__ = "response"
    # With the id, so that counting a survey's responses up to an id (analysis.tally) reads
    # the index alone.
    __table_args__ = (Index("ix_response_survey", "survey_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    # Random key issued with the form: the unique constraint makes submission idempotent.
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipality.code"))
    age: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(SOURCE_MAX))
    # The language the questionnaire was answered in; answers carry the same codes in every
    # language, so this is only for reporting (and checking a translation works).
    language: Mapped[str | None] = mapped_column(String(8))
    submitted_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)
    # A panel member's profile (gender and the panel's own profile questions) at the time
    # she answered, copied so results break down by it; no link back to her.
    profile: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # SHA-256 of the removal code shown on the thank-you page (surveys/removal.py), so that
    # she can have this response deleted; the code itself is never stored. A unique index
    # rather than a constraint: adding one on SQLite needs no copy of this table, whose
    # copy would cascade into every answer.
    removal_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)


class RemovedResponse(db.Model):
    """A response deleted at its respondent's request, known only by its removal code's
    SHA-256 (as on the response) and its survey: the same code, pressed again (a double
    click) or typed later, then says her answers were removed instead of "unknown code",
    and does not count as a wrong guess. Nothing in it points to a person or an answer.
    """

    __tablename__ = "removed_response"

    removal_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)


class Answer(db.Model):
    """One answer value in long form: a chosen option, a number or a text.

    `survey_id` and `municipality_code` are copied from the response so that counting per
    question, option and municipality is a single GROUP BY over a covering index. Only the
    response is a foreign key: keys to survey, question and option made every submission
    lock the same hot rows (migration 0002 says more). Whatever edits questionnaires must
    refuse to delete a question or option that has answers; a response is stored only
    against the questionnaire revision it was validated with.
    """

    __tablename__ = "answer"
    __table_args__ = (
        Index(
            "ix_answer_counts",
            "survey_id",
            "question_id",
            "municipality_code",
            "option_id",
            "value_number",
            "response_id",
        ),
    )

    # Keyed by its response and its place among the response's answers: an answer is found
    # through its response or the counting index only, so a surrogate id and its index
    # were a cost on every submission (migration 0017 says more).
    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    survey_id: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[int] = mapped_column(Integer)
    option_id: Mapped[int | None] = mapped_column(Integer)
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    value_number: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)


class Volunteer(db.Model):
    """Contact details of a respondent who wants to help organise, kept apart from answers."""

    __tablename__ = "volunteer"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), unique=True
    )
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    # Encrypted (peiling.crypto): what is stored is a Fernet token, not the text.
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # True when she was under the age of digital consent (or gave no age) and said that
    # her parent or guardian agrees. declared_of_age is True when, without a known age, she
    # chose "I am 16 or older" instead. Both None: not asked, her known age was 16 or more.
    guardian_consent: Mapped[bool | None] = mapped_column(Boolean)
    declared_of_age: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(Moment(), default=utcnow)
