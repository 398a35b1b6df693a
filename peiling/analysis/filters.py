"""What results are narrowed to: the user's municipalities (Scope) and the filters of the
results page (municipality, age band, source, date range in Dutch time), as SQL conditions
every analysis query shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select

from peiling.auth.access import Scope
from peiling.geo import AMSTERDAM
from peiling.surveys.models import SOURCE_MAX, Answer, Response

AGE_BANDS: dict[str, tuple[int, int]] = {"12-15": (12, 15), "16-19": (16, 19), "20-25": (20, 25)}


@dataclass(frozen=True)
class Filters:
    """What the results are narrowed to (within the user's scope)."""

    municipalities: tuple[str, ...] = ()
    age_band: str | None = None
    source: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    # A window of response ids, (after_id, upto_id]: never from a query string, only for
    # analysis.tally, which counts the responses it has not kept counts of yet.
    after_id: int | None = None
    upto_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Filters:
        """Filters from a query string; anything malformed is ignored."""
        getlist = getattr(args, "getlist", lambda key: [args[key]] if key in args else [])
        band = args.get("leeftijd")
        return cls(
            municipalities=tuple(m for m in getlist("gemeente") if m),
            age_band=band if band in AGE_BANDS else None,
            source=(args.get("bron") or "").strip().lower()[:SOURCE_MAX] or None,
            date_from=_day(args.get("van")),
            date_to=_day(args.get("tot")),
        )

    @property
    def needs_responses(self) -> bool:
        """Whether answers must be joined to their response (age, source or date filter)."""
        return bool(self.age_band or self.source or self.date_from or self.date_to)


# Before and after every response, and a datetime still after the step to and from Dutch
# time: year 1 or 9999 (which a date field lets one type) would overflow it. Clamped, not
# ignored: "from 9999-12-31" still means nothing yet, "until 9999-12-31" everything.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9000, 1, 1)


def _day(value: Any) -> date | None:
    try:
        day = date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return None if day is None else min(max(day, EARLIEST_DAY), LATEST_DAY)


def visible_municipalities(scope: Scope, filters: Filters) -> frozenset[str] | None:
    """The municipalities the results may contain: the scope, narrowed by the filter."""
    chosen = frozenset(filters.municipalities) or None
    if scope.municipalities is None:
        return chosen
    return scope.municipalities & chosen if chosen else scope.municipalities


def response_conditions(
    survey_id: int, scope: Scope, filters: Filters
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Response.survey_id == survey_id]
    places = visible_municipalities(scope, filters)
    if places is not None:
        conditions.append(Response.municipality_code.in_(sorted(places)))
    if filters.age_band:
        low, high = AGE_BANDS[filters.age_band]
        conditions.append(Response.age.between(low, high))
    if filters.source:
        conditions.append(Response.source == filters.source)
    if filters.date_from:
        conditions.append(Response.submitted_at >= _local_midnight(filters.date_from))
    if filters.date_to:
        conditions.append(Response.submitted_at < _local_midnight(filters.date_to, 1))
    if filters.after_id is not None:
        conditions.append(Response.id > filters.after_id)
    if filters.upto_id is not None:
        conditions.append(Response.id <= filters.upto_id)
    return conditions


def _local_midnight(day: date, plus_days: int = 0) -> datetime:
    moment = datetime.combine(day + timedelta(days=plus_days), time(), tzinfo=AMSTERDAM)
    return moment.astimezone(UTC)


def answers_in_view(
    stmt: Select[Any], survey_id: int, scope: Scope, filters: Filters, by_response: bool = False
) -> Select[Any]:
    """Restrict a query over `answer` to the survey, the scope and the filters.

    `by_response` finds the answers by response id instead (a small window of ids).
    Without age, source or date filters the answer rows suffice (each carries the
    municipality, so the counting index covers the query); otherwise they are joined to
    their responses.
    """
    if by_response:
        # For the answers of a few responses (a window of ids): `+ 0` keeps the planner off
        # the counting index, which SQLite, having no statistics, would read in full.
        stmt = stmt.where(Answer.survey_id + 0 == survey_id)
    else:
        stmt = stmt.where(Answer.survey_id == survey_id)
    if filters.after_id is not None:
        stmt = stmt.where(Answer.response_id > filters.after_id)
    if filters.upto_id is not None:
        stmt = stmt.where(Answer.response_id <= filters.upto_id)
    if filters.needs_responses:
        return stmt.join(Response, Response.id == Answer.response_id).where(
            *response_conditions(survey_id, scope, filters)
        )
    places = visible_municipalities(scope, filters)
    if places is not None:
        stmt = stmt.where(Answer.municipality_code.in_(sorted(places)))
    return stmt
