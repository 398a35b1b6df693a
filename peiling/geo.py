"""Reference data: provinces (regions) and their municipalities with CBS codes, and the
time zone every moment is shown to staff in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from peiling.extensions import db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # Dutch time, for every moment staff see or type


def as_utc(moment: datetime) -> datetime:
    """A stored moment with its zone: moments are stored in UTC (surveys.models.Moment),
    and SQLite hands them back without one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc_hour(session: Session, column: Any) -> Any:
    """SQL: the hour of a moment as "YYYY-MM-DD HH" in UTC. SQLite knows no time zones, so
    counts per Dutch day or month are grouped per UTC hour in SQL and put on their day or
    month by dutch_hour()."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def dutch_hour(stamp: str) -> datetime:
    """The start of a utc_hour() in Dutch time."""
    return datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(AMSTERDAM)


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
