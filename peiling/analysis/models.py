"""Population targets a survey's results are weighted to, and the counts kept per survey."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from peiling.extensions import db
from peiling.surveys.models import Moment


class WeightTarget(db.Model):
    """The population of one cell: municipality × age band (× gender), from a CSV upload."""

    __tablename__ = "weight_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    age_band: Mapped[str | None] = mapped_column(String(8))
    gender: Mapped[str | None] = mapped_column(String(16))
    population: Mapped[int] = mapped_column(Integer)


class TallyState(db.Model):
    """How far a survey's kept counts (TallyRow) reach: every response with an id up to
    `upto_id`, of which there were `responses` with ids summing to `id_sum` when they were
    counted, so that a response appearing below the mark later, or one removed, is noticed.
    Kept counts belong to one questionnaire `revision`."""

    __tablename__ = "tally_state"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    revision: Mapped[str] = mapped_column(String(32))
    upto_id: Mapped[int] = mapped_column(BigInteger)
    responses: Mapped[int] = mapped_column(BigInteger)
    id_sum: Mapped[int] = mapped_column(BigInteger)
    counted_at: Mapped[datetime] = mapped_column(Moment())


class TallyRow(db.Model):
    """One kept count (analysis.counting.Counts, flattened): `kind` says which."""

    __tablename__ = "tally_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(1))
    question_id: Mapped[int | None] = mapped_column(Integer)
    key: Mapped[str | None] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(6))
    n: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float | None] = mapped_column(Float)
