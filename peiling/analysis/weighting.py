"""Weighting results to population targets by raking (iterative proportional fitting).

Targets come as a CSV of municipality, age band, (gender) and population. Respondents are
grouped into cells by municipality, age band and gender in SQL; raking adjusts one weight
per cell until the weighted respondents match the population's margins (scaled to the
number of respondents, so the average weight is 1). Gender is a third margin where responses carry
it (a panel wave's, from the members' profiles; a flash poll does not ask it) and is
reported as unused otherwise.
The arithmetic is a few lines over a handful of cells, so no library is needed for it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, delete, distinct, func, select
from sqlalchemy.orm import Session

from peiling.analysis.counting import MANY_ROWS
from peiling.analysis.filters import AGE_BANDS, Filters, response_conditions
from peiling.analysis.models import WeightTarget
from peiling.analysis.results import answer_code
from peiling.auth.access import Scope
from peiling.csvfiles import UnreadableCsv, csv_rows
from peiling.database import lock_rows
from peiling.geo import Municipality
from peiling.numbers import whole_number
from peiling.surveys.definition import SurveyDef
from peiling.surveys.models import Answer, QuestionType, Response, Survey

Cell = tuple[str | None, str | None, str | None]  # (municipality code, age band, gender)
MAX_ROWS = 5000
MAX_ITERATIONS = 200
TOLERANCE = 1e-10


class TargetError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_targets(session: Session, survey: Survey, content: str) -> list[WeightTarget]:
    """Rows of a targets CSV (gemeente, leeftijd, geslacht, aantal; ; or , separated).

    Raises TargetError naming every bad row; nothing is half-read."""
    places = set(session.scalars(select(Municipality.code).where(
        Municipality.region_code == survey.region_code)))  # fmt: skip
    try:
        header, *lines = [row for row in csv_rows(content) if row] or [[]]
    except UnreadableCsv as exc:
        raise TargetError([str(exc)]) from exc
    columns = [c.lower() for c in header]
    if "aantal" not in columns or not {"gemeente", "leeftijd", "geslacht"} & set(columns):
        raise TargetError([_("De kolommen moeten heten: gemeente, leeftijd, geslacht, aantal.")])
    if len(lines) > MAX_ROWS - 1:
        raise TargetError([_("Meer dan %(n)s rijen.", n=MAX_ROWS)])
    rows, problems, seen = [], [], set()
    for number, line in enumerate(lines, start=2):
        record = {k: v for k, v in zip(columns, line, strict=False) if k}
        place = record.get("gemeente") or None
        band = (record.get("leeftijd") or "").replace("–", "-") or None
        gender = record.get("geslacht") or None
        where = _("rij %(n)s", n=number)
        if place and place not in places:
            problems.append(_("%(where)s: onbekende gemeente %(code)s", where=where, code=place))
        if band and band not in AGE_BANDS:
            problems.append(_("%(where)s: leeftijd moet een van %(bands)s zijn", where=where,
                              bands=", ".join(AGE_BANDS)))  # fmt: skip
        population = whole_number(record.get("aantal", ""))
        if not population:
            problems.append(_("%(where)s: aantal moet een positief heel getal zijn", where=where))
            continue
        if (place, band, gender) in seen:
            problems.append(_("%(where)s: deze combinatie staat er al", where=where))
        seen.add((place, band, gender))
        rows.append(WeightTarget(municipality_code=place, age_band=band, gender=gender,
                                 population=population))  # fmt: skip
    if problems:
        raise TargetError(problems)
    if not rows:
        raise TargetError([_("Het bestand bevat geen rijen.")])
    return rows


def save_targets(session: Session, survey: Survey, rows: list[WeightTarget]) -> None:
    """Replace the survey's targets. Under the survey's lock (database.lock_rows): on
    PostgreSQL, the same file uploaded twice at once otherwise left every cell twice, the
    second delete not seeing the rows the first had just added."""
    lock_rows(session, Survey.revision, Survey.id == survey.id)
    session.execute(delete(WeightTarget).where(WeightTarget.survey_id == survey.id))
    for row in rows:
        row.survey_id = survey.id
        session.add(row)


def targets(session: Session, survey_id: int) -> list[WeightTarget]:
    return list(session.scalars(select(WeightTarget).where(WeightTarget.survey_id == survey_id)))


def age_band_of(age_column: object) -> object:
    """SQL: the age band of an age (NULL outside every band)."""
    return case(
        *[(age_column.between(low, high), band) for band, (low, high) in AGE_BANDS.items()],  # type: ignore[attr-defined]
        else_=None,
    )


def gender_of() -> object:
    """SQL: the gender a response carries (a panel member's), or NULL."""
    from peiling.panel.services import GENDER

    return Response.profile[GENDER].as_string()


def rake(cells: dict[Cell, int], margins: dict[int, dict[str, float]]) -> dict[Cell, float]:
    """One weight per cell so that the weighted respondents match every margin.

    `margins[i]` maps the categories of cell dimension i (0: municipality, 1: age band) to
    their population share. Respondents in a category without a target keep their weight
    on that dimension, and so do categories without respondents.
    """
    total = sum(cells.values())
    weights = dict.fromkeys(cells, 1.0)
    for _round in range(MAX_ITERATIONS):
        largest = 0.0
        for dim, shares in margins.items():
            known = sum(shares.values())
            if not known:
                continue
            weighted: dict[str, float] = defaultdict(float)
            for cell, n in cells.items():
                weighted[cell[dim] or ""] += n * weights[cell]
            covered = sum(w for category, w in weighted.items() if category in shares)
            for cell in cells:
                category = cell[dim] or ""
                if category in shares and weighted[category]:
                    want = shares[category] / known * covered
                    factor = want / weighted[category]
                    largest = max(largest, abs(factor - 1))
                    weights[cell] *= factor
        if largest < TOLERANCE:
            break
    # The weights average 1 over the respondents.
    mean = sum(n * weights[c] for c, n in cells.items()) / total if total else 1.0
    return {cell: w / mean for cell, w in weights.items()}


def effective_size(cells: dict[Cell, int], weights: dict[Cell, float]) -> float:
    """Kish's effective sample size: (Σw)² / Σw²."""
    total = sum(n * weights[c] for c, n in cells.items())
    squares = sum(n * weights[c] ** 2 for c, n in cells.items())
    return total * total / squares if squares else 0.0


@dataclass
class Weighting:
    weights: dict[Cell, float]
    respondents: int
    effective: float
    dimensions: list[str]  # which margins were used
    unused: list[str] = field(default_factory=list)  # target columns the responses lack
    # (question id, answer code) -> weighted share of the respondents who answered
    shares: dict[tuple[int, str], float] = field(default_factory=dict)
    # (question id, answer code, municipality) -> the same within each municipality
    by_place: dict[tuple[int, str, str | None], float] = field(default_factory=dict)


def weighting(
    session: Session, defn: SurveyDef, scope: Scope, filters: Filters
) -> Weighting | None:
    """Weights and every closed answer's weighted share among the respondents in view, in
    total and per municipality; None when the survey has no targets.

    The weights are those of the whole sample, whatever is in view: a respondent weighs the
    same in every table she appears in, as in any weighted survey analysis, and a
    municipality's or an age band's figures are the weighted figures of its respondents."""
    rows = targets(session, defn.id)
    if not rows:
        return None
    band, gender = age_band_of(Response.age), gender_of()
    stmt = (
        select(Response.municipality_code, band, gender, func.count())
        .where(Response.survey_id == defn.id)
        .group_by(Response.municipality_code, band, gender)
    )
    cells: dict[Cell, int] = {(m, b, g): n for m, b, g, n in session.execute(stmt)}
    margins: dict[int, dict[str, float]] = {d: defaultdict(float) for d in range(3)}
    for row in rows:
        if row.municipality_code:
            margins[0][row.municipality_code] += row.population
        if row.age_band:
            margins[1][row.age_band] += row.population
        if row.gender:
            margins[2][row.gender.lower()] += row.population
    # Gender only counts where responses carry it (panel waves; a flash poll does not ask).
    if not any(g for _m, _b, g in cells):
        margins[2].clear()
    names = ((0, "gemeente"), (1, "leeftijd"), (2, "geslacht"))
    used = [name for dim, name in names if margins[dim]]
    unused = ["geslacht"] if any(r.gender for r in rows) and not margins[2] else []
    weights = rake(cells, {d: dict(m) for d, m in margins.items() if m})
    result = Weighting(weights, sum(cells.values()), effective_size(cells, weights), used, unused)
    result.shares, result.by_place = _weighted_shares(session, defn, scope, filters, weights)
    return result


def _weighted_shares(
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    weights: dict[Cell, float],
) -> tuple[dict[tuple[int, str], float], dict[tuple[int, str, str | None], float]]:
    """Per closed question and answer, in total and per municipality: Σ weights of those
    who gave it / Σ weights of those who answered the question (for multiple choice: who
    picked anything)."""
    band, gender = age_band_of(Response.age), gender_of()
    key_text = func.coalesce(Answer.value_text, "")
    base = (
        select(Answer.question_id, Answer.option_id, key_text, Answer.value_number,
               Response.municipality_code, band, gender, func.count(distinct(Answer.response_id)))
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.survey_id == defn.id, *response_conditions(defn.id, scope, filters))
        .group_by(Answer.question_id, Answer.option_id, key_text, Answer.value_number,
                  Response.municipality_code, band, gender)
    )  # fmt: skip
    by_id = {q.id: q for q in defn.questions}
    # Keyed by (question id, answer code, place) and (question id, place).
    given: dict[tuple[int, str, str | None], float] = defaultdict(float)
    answered: dict[tuple[int, str | None], float] = defaultdict(float)
    for question_id, option_id, text, number, place, age_band, sex, n in session.execute(base):
        q = by_id.get(question_id)
        if q is None or q.type in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT):
            continue
        if option_id is not None and q.type is QuestionType.VOLUNTEER:
            continue  # activities; the ja/nee row is the answer
        weight = weights.get((place, age_band, sex), 1.0) * n
        given[(question_id, answer_code(q, option_id, text, number), place)] += weight
        if q.type not in MANY_ROWS:
            answered[(question_id, place)] += weight
    many = [q.id for q in defn.questions if q.type in MANY_ROWS]
    if many:
        respondents = (
            select(Answer.question_id, Response.municipality_code, band, gender,
                   func.count(distinct(Answer.response_id)))
            .join(Response, Response.id == Answer.response_id)
            .where(Answer.question_id.in_(many), *response_conditions(defn.id, scope, filters))
            .group_by(Answer.question_id, Response.municipality_code, band, gender)
        )  # fmt: skip
        for question_id, place, age_band, sex, n in session.execute(respondents):
            answered[(question_id, place)] += weights.get((place, age_band, sex), 1.0) * n
    total_given: dict[tuple[int, str], float] = defaultdict(float)
    total_answered: dict[int, float] = defaultdict(float)
    for (question_id, code, _place), value in given.items():
        total_given[(question_id, code)] += value
    for (question_id, _place), value in answered.items():
        total_answered[question_id] += value
    shares = {
        key: value / total_answered[key[0]]
        for key, value in total_given.items()
        if total_answered.get(key[0])
    }
    by_place = {
        key: value / answered[(key[0], key[2])]
        for key, value in given.items()
        if answered.get((key[0], key[2]))
    }
    return shares, by_place
