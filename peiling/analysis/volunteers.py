"""The young people who want to help organise, for the coordinators of their municipality.

Contact details of minors: only for users with the volunteers permission, only for their
municipalities (in SQL), and every look is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from peiling.auth.access import Scope
from peiling.crypto import decrypt
from peiling.geo import Municipality
from peiling.i18n import N_
from peiling.surveys.definition import SurveyDef
from peiling.surveys.models import QuestionType, Volunteer

# The three answers staff see, so that a self-declared age never reads as a guardian's yes.
CONSENT_GUARDIAN = N_("Ja, ouder of verzorger gaf toestemming (jonger dan %(age)s)")
CONSENT_DECLARED = N_("Niet nodig: gaf zelf aan %(age)s jaar of ouder te zijn")
CONSENT_NOT_ASKED = N_("Niet gevraagd: leeftijd %(age)s jaar of ouder")


@dataclass(frozen=True)
class VolunteerRow:
    name: str
    email: str | None
    phone: str | None
    municipality: str
    activities: tuple[str, ...]  # labels
    created_at: datetime
    # A parent or guardian agreed (asked under 16, or without an age); None: not asked.
    guardian_consent: bool | None = None
    # Without a known age she declared she is 16 or older (no guardian was asked).
    declared_of_age: bool | None = None

    @property
    def consent(self) -> str:
        """What was given for her contact details, in Dutch (with %(age)s, the limit)."""
        if self.guardian_consent:
            return CONSENT_GUARDIAN
        if self.declared_of_age:
            return CONSENT_DECLARED
        return CONSENT_NOT_ASKED


def activity_choices(defn: SurveyDef) -> list[tuple[str, str]]:
    """(code, label) of the activities the survey's volunteer question offers."""
    return [
        (o.code, o.label)
        for q in defn.questions
        if q.type is QuestionType.VOLUNTEER
        for o in q.options
    ]


def volunteers(
    session: Session,
    defn: SurveyDef,
    scope: Scope,
    municipality: str | None = None,
    activity: str | None = None,
    limit: int = 2000,
) -> list[VolunteerRow]:
    """The volunteers of `defn` the scope allows, newest first; raises PermissionError when
    the scope does not include contact details."""
    if not scope.volunteers:
        raise PermissionError("no volunteers permission")
    stmt = (
        select(Volunteer, Municipality.name)
        .outerjoin(Municipality, Municipality.code == Volunteer.municipality_code)
        .where(Volunteer.survey_id == defn.id)
        .order_by(Volunteer.created_at.desc(), Volunteer.id.desc())
    )
    if scope.municipalities is not None:
        stmt = stmt.where(Volunteer.municipality_code.in_(sorted(scope.municipalities)))
    if municipality:
        stmt = stmt.where(Volunteer.municipality_code == municipality)
    labels = dict(activity_choices(defn))
    rows = []
    # The activity filter runs over the JSON list in Python: a survey has at most a few
    # hundred volunteers (114 of 833 in Drenthe), and JSON operators differ per database.
    for volunteer, place in session.execute(stmt.limit(limit)):
        chosen = tuple(volunteer.activities or ())
        if activity and activity not in chosen:
            continue
        rows.append(
            VolunteerRow(
                decrypt(volunteer.name) or "",
                decrypt(volunteer.email),
                decrypt(volunteer.phone),
                place or "",
                tuple(labels.get(code, code) for code in chosen),
                volunteer.created_at,
                volunteer.guardian_consent,
                volunteer.declared_of_age,
            )
        )
    return rows
