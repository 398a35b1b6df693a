"""Population targets a survey's results are weighted to."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from peiling.extensions import db


class WeightTarget(db.Model):
    """The population of one cell: municipality × age band (× gender), from a CSV upload."""

    __tablename__ = "weight_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    age_band: Mapped[str | None] = mapped_column(String(8))
    gender: Mapped[str | None] = mapped_column(String(16))
    population: Mapped[int] = mapped_column(Integer)
