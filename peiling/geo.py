"""Reference data: provinces (regions) and their municipalities with CBS codes, and the
time zone every moment is shown to staff in."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peiling.extensions import db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # Dutch time, for every moment staff see or type


def as_utc(moment: datetime) -> datetime:
    """A stored moment with its zone: moments are stored in UTC (surveys.models.Moment),
    and SQLite hands them back without one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dutch_time(moment: datetime, layout: str = "%d-%m-%Y %H:%M") -> str:
    """A stored moment as people in Drenthe and Groningen read it (the `dutch` template
    filter)."""
    return as_utc(moment).astimezone(AMSTERDAM).strftime(layout)


class Region(db.Model):
    """A province whose municipalities respondents choose from."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    municipalities: Mapped[list[Municipality]] = relationship(
        back_populates="region", order_by="Municipality.name"
    )


class Municipality(db.Model):
    """A municipality, keyed by its CBS code (GMxxxx)."""

    __tablename__ = "municipality"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    region: Mapped[Region] = relationship(back_populates="municipalities")
