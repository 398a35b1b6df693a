"""Parse and validate posted answers, one question at a time, with error messages in the
respondent's language (Dutch source texts, translated through the interface catalogue)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from babel.numbers import format_decimal
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from peiling.emails import is_email
from peiling.i18n import N_
from peiling.surveys.definition import QuestionDef, SurveyDef
from peiling.surveys.models import QuestionType

Raw = Mapping[str, Sequence[str]]

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 2000
NAME_MAX = 100
OTHER_MAX = 200
# A phone number as people write it: "06-12345678", "(050) 123 45 67", "+31 (0)6 1234 5678",
# "06.12.34.56.78". Coordinators call it as typed, so the notation stays; 8 to 15 digits
# (ITU-T E.164's most) tell a number from "bel me".
PHONE_RE = re.compile(r"^\+?[0-9(][0-9 ().\-/]*[0-9]$")
PHONE_DIGITS = (8, 15)
# Control characters other than tab and newline: PostgreSQL cannot store NUL, and the rest
# only ever arrive from scripts.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INTEGER_RE = re.compile(r"^[+-]?\d{1,9}$")
DECIMAL_RE = re.compile(r"^[+-]?\d{1,9}([.,]\d{1,6})?$")
# Under this age contact details need a parent's or guardian's permission: the Dutch age of
# digital consent (UAVG article 5). Deployments may set GUARDIAN_CONSENT_AGE.
GUARDIAN_CONSENT_AGE = 16
# The values of the permission's checkbox or choice: a parent or guardian agrees, or (asked
# only when the age is unknown) she is of the age of consent herself.
GUARDIAN = "ja"
OF_AGE = "oud-genoeg"
# How the volunteer block asks (consent_question): a checkbox for a known age under the
# limit, a choice between the two when the age may be unknown.
CHECKBOX = "checkbox"
CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class VolunteerData:
    name: str
    email: str | None
    phone: str | None
    activities: tuple[str, ...]
    # True: she said her parent or guardian agrees (under 16, or without a known age).
    guardian_consent: bool | None = None
    # True: without a known age, she declared she is 16 or older. Both None: not asked,
    # since her known age is 16 or more.
    declared_of_age: bool | None = None


class Cleaned(NamedTuple):
    """A question's validated answer; empty when the respondent left it open.

    A named tuple rather than a frozen dataclass: as immutable, and made for every question
    of every submission at a fraction of the cost (callgrind).
    """

    codes: tuple[str, ...] = ()
    number: float | None = None
    text: str | None = None
    other: str | None = None
    willing: bool | None = None
    volunteer: VolunteerData | None = None

    @property
    def empty(self) -> bool:
        return not self.codes and self.number is None and not self.text and self.willing is None


EMPTY = Cleaned()  # immutable, so one instance serves every unanswered question


@dataclass
class Problems:
    """Errors keyed by the id of the input they belong to (for the error summary's links)."""

    errors: dict[str, tuple[QuestionDef, str]] = field(default_factory=dict)

    def add(self, q: QuestionDef, message: str, target: str | None = None) -> None:
        self.errors.setdefault(target or input_id(q), (q, message))

    def __bool__(self) -> bool:
        return bool(self.errors)


def input_id(q: QuestionDef, part: str = "") -> str:
    """The id of the first input of a question (or of one of its parts)."""
    if part:
        return f"q_{q.code}__{part}"
    if q.type in (
        QuestionType.SHORT_TEXT,
        QuestionType.LONG_TEXT,
        QuestionType.NUMBER,
        QuestionType.AGE,
        QuestionType.MUNICIPALITY,
    ):
        return q.field
    return f"{q.field}-0"


def clean_text(value: str) -> str:
    return CONTROL_RE.sub("", value.replace("\r\n", "\n")).strip()


def _single(raw: Raw, name: str) -> list[str]:
    """The non-empty values of a field of codes or numbers, trimmed.

    Unlike free text, these are not cleaned of control characters: a code or number that
    contains one matches no option or pattern, and is refused rather than repaired.
    """
    values = []  # a loop, not a comprehension: no function call of its own (Python 3.11)
    for given in raw.get(name, ()):
        if value := given.strip():
            values.append(value)
    return values


def clean(q: QuestionDef, raw: Raw, problems: Problems) -> Cleaned:
    """Validate question `q` from the raw form values, adding any errors to `problems`."""
    handler = _HANDLERS[q.type]
    result = handler(q, raw, problems)
    if q.required and result.empty and input_id(q) not in problems.errors:
        problems.add(q, _(_REQUIRED.get(q.type, _ANSWER_NEEDED)))
    return result


_ANSWER_NEEDED = N_("Vul een antwoord in.")
_REQUIRED = {
    QuestionType.SINGLE_CHOICE: N_("Kies een antwoord."),
    QuestionType.YES_NO: N_("Kies ja of nee."),
    QuestionType.AGREE_SCALE: N_("Kies een antwoord."),
    QuestionType.GRADE: N_("Kies een cijfer van 1 tot en met 10."),
    QuestionType.MULTIPLE_CHOICE: N_("Kies minstens één antwoord."),
    QuestionType.NUMBER: N_("Vul een getal in."),
    QuestionType.AGE: N_("Vul je leeftijd in."),
    QuestionType.MUNICIPALITY: N_("Kies je gemeente."),
    QuestionType.VOLUNTEER: N_("Kies ja of nee."),
}


def _choice(q: QuestionDef, raw: Raw, problems: Problems) -> Cleaned:
    values = _single(raw, q.field)
    if not values:
        return EMPTY
    multiple = q.type is QuestionType.MULTIPLE_CHOICE
    if not multiple and len(values) > 1:
        problems.add(q, _("Kies één antwoord."))
        return EMPTY
    if not all(map(q.options_by_code.get, values)) or len(set(values)) != len(values):
        problems.add(q, _("Kies een van de antwoorden uit de lijst."))
        return EMPTY
    max_choices = q.settings.get("max_choices")
    if multiple and max_choices and len(values) > max_choices:
        problems.add(q, _("Kies maximaal %(n)s antwoorden.", n=int(max_choices)))
    other = None
    if q.has_other and any(q.option(v).is_other for v in values):  # type: ignore[union-attr]
        other = clean_text(" ".join(raw.get(f"{q.field}__anders", ())))
        if not other:
            problems.add(q, _("Vul in wat je bedoelt met ‘anders’."), input_id(q, "anders"))
        elif len(other) > OTHER_MAX:
            problems.add(q, _too_long(OTHER_MAX, len(other)), input_id(q, "anders"))
    if q.type is QuestionType.GRADE:
        return Cleaned(codes=tuple(values), number=float(values[0]))
    return Cleaned(codes=tuple(values), other=other or None)


def _too_long(limit: int, actual: int) -> str:
    return _(
        "Je antwoord is te lang: gebruik maximaal %(limit)s tekens (nu %(actual)s).",
        limit=limit,
        actual=actual,
    )


def _number(q: QuestionDef, raw: Raw, problems: Problems) -> Cleaned:
    values = _single(raw, q.field)
    if not values:
        return EMPTY
    text = values[0].replace(" ", "")
    decimal = bool(q.settings.get("decimal"))
    if len(values) > 1 or not (DECIMAL_RE if decimal else INTEGER_RE).match(text):
        if decimal:
            problems.add(q, _("Vul een getal in, bijvoorbeeld 2,5."))
        else:
            problems.add(q, _("Vul een getal in, bijvoorbeeld 12."))
        return EMPTY
    number = float(text.replace(",", "."))
    low, high = q.settings.get("min"), q.settings.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        problems.add(q, _range_message(low, high))
        return EMPTY
    return Cleaned(number=number)


def _range_message(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return _(
            "Vul een getal in van %(low)s tot en met %(high)s.", low=_fmt(low), high=_fmt(high)
        )
    if low is not None:
        return _("Vul een getal in van %(low)s of meer.", low=_fmt(low))
    return _("Vul een getal in van %(high)s of minder.", high=_fmt(high))  # type: ignore[arg-type]


def _fmt(number: float) -> str:
    """`number` as the respondent writes it: a decimal comma in Dutch, a point in English."""
    return format_decimal(number, format="0.######", locale=get_locale() or "nl")


def _age(q: QuestionDef, raw: Raw, problems: Problems) -> Cleaned:
    values = _single(raw, q.field)
    if not values:
        return EMPTY
    if len(values) > 1 or not INTEGER_RE.match(values[0]) or not 0 < int(values[0]) < 120:
        problems.add(q, _("Vul je leeftijd in jaren in, bijvoorbeeld 16."))
        return EMPTY
    return Cleaned(number=float(int(values[0])))


def _text(q: QuestionDef, raw: Raw, problems: Problems) -> Cleaned:
    text = clean_text("\n".join(raw.get(q.field, ())))
    default = SHORT_TEXT_MAX if q.type is QuestionType.SHORT_TEXT else LONG_TEXT_MAX
    limit = int(q.settings.get("max_length", default))
    if len(text) > limit:
        problems.add(q, _too_long(limit, len(text)))
        return EMPTY
    return Cleaned(text=text or None)


def is_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return bool(PHONE_RE.match(text)) and PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]


def _volunteer(q: QuestionDef, raw: Raw, problems: Problems) -> Cleaned:
    values = _single(raw, q.field)
    if not values:
        return EMPTY
    if len(values) > 1 or values[0] not in ("ja", "nee"):
        problems.add(q, _("Kies ja of nee."))
        return EMPTY
    if values[0] == "nee":
        # Contact details typed before switching to "nee" are deliberately not kept.
        return Cleaned(willing=False)
    name = clean_text(" ".join(raw.get(f"{q.field}__naam", ())))
    email = clean_text(" ".join(raw.get(f"{q.field}__email", ()))).lower()
    phone = clean_text(" ".join(raw.get(f"{q.field}__telefoon", ())))
    activities = _single(raw, f"{q.field}__act")
    if not name:
        problems.add(q, _("Vul je naam in."), input_id(q, "naam"))
    elif len(name) > NAME_MAX:
        problems.add(q, _too_long(NAME_MAX, len(name)), input_id(q, "naam"))
    if not email and not phone:
        problems.add(
            q,
            _("Vul je e-mailadres of telefoonnummer in, zodat we je kunnen bereiken."),
            input_id(q, "email"),
        )
    if email and not is_email(email):
        problems.add(
            q, _("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl."), input_id(q, "email")
        )
    if phone and not is_phone(phone):
        problems.add(
            q, _("Vul een geldig telefoonnummer in, zoals 06 12345678."), input_id(q, "telefoon")
        )
    if len(set(activities)) != len(activities) or any(q.option(a) is None for a in activities):
        problems.add(q, _("Kies activiteiten uit de lijst."), input_id(q, "act-0"))
        activities = []
    # Whether the permission is needed depends on the age, perhaps on another page:
    # check_guardian_consent() decides, with the whole questionnaire at hand.
    chosen = _single(raw, f"{q.field}__toestemming")
    data = VolunteerData(
        name,
        email or None,
        phone or None,
        tuple(activities),
        guardian_consent=chosen == [GUARDIAN] or None,
        declared_of_age=chosen == [OF_AGE] or None,
    )
    return Cleaned(codes=tuple(activities), willing=True, volunteer=data)


_HANDLERS = {
    QuestionType.SINGLE_CHOICE: _choice,
    QuestionType.MULTIPLE_CHOICE: _choice,
    QuestionType.YES_NO: _choice,
    QuestionType.AGREE_SCALE: _choice,
    QuestionType.GRADE: _choice,
    QuestionType.MUNICIPALITY: _choice,
    QuestionType.NUMBER: _number,
    QuestionType.AGE: _age,
    QuestionType.SHORT_TEXT: _text,
    QuestionType.LONG_TEXT: _text,
    QuestionType.VOLUNTEER: _volunteer,
}


def consent_age() -> int:
    """The age from which no parent's or guardian's permission is needed."""
    return int(current_app.config.get("GUARDIAN_CONSENT_AGE", GUARDIAN_CONSENT_AGE))


def known_age(defn: SurveyDef, raw: Raw, given: int | None = None) -> int | None:
    """The age given in the survey's age question (on any page), if it is a valid one;
    otherwise `given`, an age known from elsewhere (a panel member's birth year)."""
    for q in defn.age_questions:
        values = _single(raw, q.field)
        if len(values) == 1 and INTEGER_RE.match(values[0]) and 0 < int(values[0]) < 120:
            return int(values[0])
    return given


def consent_question(
    defn: SurveyDef, q: QuestionDef, raw: Raw, given: int | None = None
) -> str | None:
    """How the volunteer question `q` asks for permission: CHECKBOX when an age under the
    limit is known (or a required age question on its page will tell), CHOICE when the age
    may stay unknown, None when a known age makes it unnecessary."""
    age_q = defn.age_questions[0] if defn.age_questions else None
    if age_q is not None and age_q.page_index == q.page_index:
        return CHECKBOX if age_q.required and age_q.show_if is None else CHOICE
    age = known_age(defn, raw, given)
    if age is None:
        return CHOICE
    return CHECKBOX if age < consent_age() else None


def check_guardian_consent(
    defn: SurveyDef,
    raw: Raw,
    answers: dict[str, Cleaned],
    problems: Problems,
    given: int | None = None,
) -> None:
    """Require the permission where needed (an error next to its checkbox or choice), and
    keep with the contact details only what was asked for. An age outside the survey's
    range gets no error here: the age gate turns her away and stores nothing. `given` is
    an age known from elsewhere (a panel member), used when the survey asks none."""
    volunteers = {code: a.volunteer for code, a in answers.items() if a.volunteer is not None}
    if not volunteers:  # nobody to ask permission for (most respondents)
        return
    answered = known_age(defn, raw)
    if answered is not None and not defn.age_min <= answered <= defn.age_max:
        return
    age = known_age(defn, raw, given)
    for code, volunteer in volunteers.items():
        if age is not None and age >= consent_age():
            kept = replace(volunteer, guardian_consent=None, declared_of_age=None)
        elif age is not None:
            kept = replace(volunteer, declared_of_age=None)
        else:
            kept = volunteer
        answers[code] = answers[code]._replace(volunteer=kept)
        if age is not None and age >= consent_age() or kept.guardian_consent:
            continue
        if age is None and kept.declared_of_age:
            continue
        q = defn.by_code[code]
        problems.add(q, _consent_problem(defn, q, raw, given, age), input_id(q, "toestemming"))


def _consent_problem(
    defn: SurveyDef, q: QuestionDef, raw: Raw, given: int | None, age: int | None
) -> str:
    if consent_question(defn, q, raw, given) == CHECKBOX:
        return _(
            "Vraag je ouder of verzorger of het goed is en zet dan een vinkje. "
            "Mag het niet? Kies dan ‘Nee’."
        )
    if age is not None:
        return _(
            "Je bent jonger dan %(age)s. Vraag je ouder of verzorger of het goed is. "
            "Mag het niet? Kies dan ‘Nee’.",
            age=consent_age(),
        )
    return _(
        "Kies of je %(age)s jaar of ouder bent, of dat je ouder of verzorger het goed vindt. "
        "Mag het niet? Kies dan ‘Nee’.",
        age=consent_age(),
    )
