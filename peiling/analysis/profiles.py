"""Wave results broken down by the panel members' profile: gender and the panel's own
profile questions, which each response of a panel wave carries (response.profile).

One GROUP BY per question kind over the answers joined to their responses, by the profile
value; percentages are of the respondents with that value who answered the question, and
small groups are protected as everywhere (stats.protect).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from peiling.analysis.counting import CLOSED
from peiling.analysis.filters import Filters, response_conditions
from peiling.analysis.results import _by_id, _choices, answer_code
from peiling.analysis.stats import Cell, protect
from peiling.auth.access import Scope
from peiling.panel.services import GENDER, GENDERS
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import Answer, QuestionType, Response


@dataclass(frozen=True)
class ProfileField:
    code: str
    label: str
    options: tuple[tuple[str, str], ...]


@dataclass
class Breakdown:
    question: QuestionDef
    values: list[tuple[str, str]]  # the profile values, as columns
    bases: list[Cell]  # respondents with that value who answered the question
    rows: list[tuple[str, list[Cell]]]  # (answer label, a cell per value)


def profile_fields(session: Session, survey_id: int) -> list[ProfileField]:
    """Gender and the profile questions of the panels this survey was sent to as a wave;
    none for a survey that never was."""
    from peiling.panel.models import Panel, Wave

    panels = (
        session.scalars(
            select(Panel).join(Wave, Wave.panel_id == Panel.id).where(Wave.survey_id == survey_id)
        )
        .unique()
        .all()
    )
    if not panels:
        return []
    fields = [ProfileField(GENDER, "Geslacht", tuple(GENDERS.items()))]
    seen = {GENDER}
    for panel in panels:
        for f in panel.profile_fields or []:
            if f["code"] not in seen:
                seen.add(f["code"])
                options = tuple((str(c), str(label)) for c, label in f.get("options", []))
                fields.append(ProfileField(f["code"], f["label"], options))
    return fields


def breakdown(
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    filters: Filters,
    field: ProfileField,
    minimum: int = 5,
) -> list[Breakdown]:
    """Every closed question's answers per value of `field`, counted in the database."""
    value = Response.profile[field.code].as_string()
    conditions = [Answer.survey_id == defn.id, *response_conditions(defn.id, scope, filters)]
    on = Response.id == Answer.response_id
    given: dict[tuple[int, str, str], int] = defaultdict(int)
    for question_id, option_id, text, number, v, n in session.execute(
        select(Answer.question_id, Answer.option_id, Answer.value_text, Answer.value_number,
               value, func.count())
        .join(Response, on).where(*conditions)
        .group_by(Answer.question_id, Answer.option_id, Answer.value_text, Answer.value_number,
                  value)
    ):  # fmt: skip
        q = _by_id(defn).get(question_id)
        if q is None or q.type not in CLOSED or v is None:
            continue
        if option_id is not None and q.type is QuestionType.VOLUNTEER:
            continue
        given[(question_id, answer_code(q, option_id, text, number), v)] += n
    answered: dict[tuple[int, str], int] = {
        (question_id, v): n
        for question_id, v, n in session.execute(
            select(Answer.question_id, value, func.count(distinct(Answer.response_id)))
            .join(Response, on)
            .where(*conditions)
            .group_by(Answer.question_id, value)
        )
        if v is not None
    }
    values = list(field.options)
    tables = []
    for q in defn.questions:
        if q.type not in CLOSED or q.type in (QuestionType.NUMBER, QuestionType.AGE):
            continue
        bases = [answered.get((q.id, code), 0) for code, _label in values]
        rows = [
            (label, [protect(given.get((q.id, answer, code), 0), base, minimum)
                     for (code, _l), base in zip(values, bases, strict=True)])
            for answer, label in _choices(q)
        ]  # fmt: skip
        tables.append(Breakdown(q, values, [protect(b, b, minimum) for b in bases], rows))
    return tables
