"""Load a questionnaire from Peiling's JSON definition format (see docs/survey-definition.md)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from peiling.geo import Municipality, Region, as_utc
from peiling.i18n import N_
from peiling.numbers import whole_number
from peiling.surveys import translation
from peiling.surveys.answers import CONTROL_RE
from peiling.surveys.models import (
    Option,
    Page,
    Question,
    QuestionType,
    Survey,
    SurveyKind,
    SurveyStatus,
)

MOMENT_YEARS = (1900, 8999)  # opens_at and closes_at
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
OPERATORS = ("equals", "in", "not")
# Labels of the options a type brings along: stored in Dutch, translated from the interface
# catalogue when the form is shown in another language.
AGREE_OPTIONS = (
    ("1", N_("Helemaal oneens")),
    ("2", N_("Oneens")),
    ("3", N_("Niet eens, niet oneens")),
    ("4", N_("Eens")),
    ("5", N_("Helemaal eens")),
)
YES_NO_OPTIONS = (("ja", N_("Ja")), ("nee", N_("Nee")))
OTHER_LABEL = N_("Anders, namelijk")
NEEDS_OPTIONS = {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE}
MAY_HAVE_OPTIONS = NEEDS_OPTIONS | {QuestionType.VOLUNTEER}
# Values a condition may compare with, per type of source question, where not its options.
FIXED_VALUES = {
    QuestionType.YES_NO: {c for c, _ in YES_NO_OPTIONS},
    QuestionType.VOLUNTEER: {"ja", "nee"},
    QuestionType.AGREE_SCALE: {c for c, _ in AGREE_OPTIONS},
    QuestionType.GRADE: {str(n) for n in range(1, 11)},
}
SETTINGS = {
    QuestionType.MULTIPLE_CHOICE: {"max_choices"},
    QuestionType.NUMBER: {"min", "max", "decimal"},
    QuestionType.SHORT_TEXT: {"max_length"},
    QuestionType.LONG_TEXT: {"max_length"},
}
SURVEY_KEYS = {
    "slug",
    "title",
    "introduction",
    "kind",
    "status",
    "opens_at",
    "closes_at",
    "age_min",
    "age_max",
    "region",
    "privacy_statement",
    "allow_multiple_responses",
    "languages",
    "translations",
    "pages",
}
QUESTION_KEYS = {
    "code",
    "type",
    "text",
    "help",
    "required",
    "options",
    "other",
    "show_if",
    "translations",
}
QUESTION_KEYS |= {key for keys in SETTINGS.values() for key in keys}


class Problem(NamedTuple):
    """One error in a definition. A file's author reads `where: message`; a form that edits
    one question or the settings shows `short` beside its own field for `field`."""

    where: str  # "vraag 'leeftijd'"
    message: str  # what is wrong, naming the definition's field
    field: str | None = None  # that field's key in the definition ("min", "options")
    question: str | None = None  # the code of the question it is about
    short: str | None = None  # the message without the field's name
    page: int | None = None  # the number of its page (from 1); None with `question`: the survey

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    @property
    def beside_field(self) -> str:
        return self.short or self.message


class DefinitionError(ValueError):
    """The definition is invalid; `problems` lists every error found, each as "where: what",
    in the interface language (Dutch without a request, as from the command line), and
    `details` the same as Problems."""

    def __init__(self, problems: list[str] | list[Problem]) -> None:
        self.details = [p if isinstance(p, Problem) else Problem("", p) for p in problems]
        self.problems = [str(p) for p in self.details]
        super().__init__("\n".join(self.problems))


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.municipalities: set[str] = set()  # CBS codes of the survey's region
        self.languages: list[str] = [translation.SOURCE]
        self.question: str | None = None  # the code of the question being checked
        self.page: int | None = None  # and the number of its page

    def fail(
        self, where: str, message: str, field: str | None = None, short: str | None = None
    ) -> None:
        self.problems.append(Problem(where, message, field, self.question, short, self.page))

    def text(
        self, data: dict[str, Any], key: str, where: str, required: bool = True, limit: int = 10_000
    ) -> str:
        value = data.get(key, "" if not required else None)
        if value is None or (required and isinstance(value, str) and not value.strip()):
            self.fail(
                where, _("veld '%(key)s' ontbreekt of is leeg", key=key), key, _("vul dit in")
            )
            return ""
        if not isinstance(value, str):
            self.fail(
                where, _("veld '%(key)s' moet tekst zijn", key=key), key, _("moet tekst zijn")
            )
            return ""
        if len(value) > limit:
            self.fail(
                where,
                _("veld '%(key)s' is langer dan %(limit)d tekens", key=key, limit=limit),
                key,
                _("is langer dan %(limit)d tekens", limit=limit),
            )
        return value.strip()

    def number(self, data: dict[str, Any], key: str, where: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        # json.loads reads NaN and Infinity, which no setting means and PostgreSQL's JSON
        # does not take.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            self.fail(
                where,
                _("veld '%(key)s' moet een getal zijn", key=key),
                key,
                _("moet een getal zijn"),
            )
            return None
        return value


def _moment(checker: _Checker, data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        checker.fail(
            _("vragenlijst"),
            _(
                "veld '%(key)s' is geen datum en tijd (ISO 8601): %(value)s",
                key=key,
                value=repr(value),
            ),
            key,
            _("is geen datum en tijd"),
        )
        return None
    # Year 1 or 9999 parses, and PostgreSQL stores it, but in UTC it can fall outside what
    # Python's datetime holds: every later read of the survey would fail.
    if not MOMENT_YEARS[0] <= moment.year <= MOMENT_YEARS[1]:
        checker.fail(
            _("vragenlijst"),
            _(
                "veld '%(key)s' moet tussen de jaren %(first)d en %(last)d liggen: %(value)s",
                key=key,
                first=MOMENT_YEARS[0],
                last=MOMENT_YEARS[1],
                value=repr(value),
            ),
            key,
            _(
                "moet tussen de jaren %(first)d en %(last)d liggen",
                first=MOMENT_YEARS[0],
                last=MOMENT_YEARS[1],
            ),
        )
        return None
    return as_utc(moment)  # without an offset: UTC, as documented; stored in UTC (Moment)


def _enum_value(checker: _Checker, enum: type, value: Any, where: str, key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        checker.fail(
            where,
            _(
                "veld '%(key)s' heeft onbekende waarde %(value)s (kies uit %(allowed)s)",
                key=key,
                value=repr(value),
                allowed=allowed,
            ),
            key,
            _("kies een van de mogelijkheden"),
        )
        return None


def build_survey(session: Session, data: Any) -> Survey:
    """Validate `data` and return a new, unsaved Survey with pages, questions and options.

    Raises DefinitionError listing every problem, each naming the question and field.
    """
    checker = _Checker()
    if not isinstance(data, dict):
        raise DefinitionError([_("het bestand moet een JSON-object bevatten")])
    where = _("vragenlijst")
    # Before anything is looked up: PostgreSQL refuses a NUL in any text parameter.
    controlled = [
        _("veld '%(path)s' bevat een stuurteken (zoals NUL); haal het weg", path=_short(path))
        for path in _with_control_characters(data)
    ]
    if controlled:
        raise DefinitionError([f"{where}: {problem}" for problem in controlled])
    for key in sorted(set(data) - SURVEY_KEYS):
        checker.fail(where, _("onbekend veld '%(key)s'", key=key))
    slug = checker.text(data, "slug", where, limit=80)
    if slug and not SLUG_RE.match(slug):
        checker.fail(
            where,
            _("veld 'slug' mag alleen kleine letters, cijfers en - bevatten"),
            "slug",
            _("mag alleen kleine letters, cijfers en - bevatten"),
        )
    elif slug and session.scalar(select(Survey.id).where(Survey.slug == slug)):
        checker.fail(
            where,
            _("er bestaat al een vragenlijst met slug '%(slug)s'", slug=slug),
            "slug",
            _("is al in gebruik door een andere vragenlijst"),
        )
    region_code = data.get("region")
    if not isinstance(region_code, str) or session.get(Region, region_code) is None:
        regions = ", ".join(session.scalars(select(Region.code)))
        checker.fail(
            where, _("veld 'region' moet een van deze zijn: %(regions)s", regions=regions), "region"
        )
    else:
        in_region = select(Municipality.code).where(Municipality.region_code == region_code)
        checker.municipalities = set(session.scalars(in_region))
    checker.languages = translation.check_languages(checker, data.get("languages"))
    age_min = _whole(checker, data, "age_min", where)
    age_max = _whole(checker, data, "age_max", where)
    age_min = 12 if age_min is None else int(age_min)
    age_max = 25 if age_max is None else int(age_max)
    if not 0 <= age_min <= age_max <= 120:
        field, short = _age_bounds_problem(age_min, age_max)
        checker.fail(where, _("leeftijdsgrenzen kloppen niet (age_min <= age_max)"), field, short)
    opens_at = _moment(checker, data, "opens_at")
    closes_at = _moment(checker, data, "closes_at")
    # Such a survey could never be answered: publishing it would close it at once.
    if opens_at and closes_at and closes_at <= opens_at:
        checker.fail(
            where,
            _("'closes_at' ligt niet na 'opens_at'"),
            "closes_at",
            _("ligt niet na het moment van openen"),
        )
    survey = Survey(
        slug=slug,
        title=checker.text(data, "title", where, limit=200),
        introduction=checker.text(data, "introduction", where, required=False),
        kind=_enum_value(checker, SurveyKind, data.get("kind", "flash_poll"), where, "kind"),
        status=_enum_value(checker, SurveyStatus, data.get("status", "draft"), where, "status"),
        opens_at=opens_at,
        closes_at=closes_at,
        age_min=age_min,
        age_max=age_max,
        region_code=region_code,
        privacy_statement=checker.text(data, "privacy_statement", where, required=False),
        allow_multiple_responses=bool(data.get("allow_multiple_responses", False)),
        languages=checker.languages if len(checker.languages) > 1 else None,
        translations=_translations(checker, data, "survey", where),
    )
    _build_pages(checker, data.get("pages"), survey)
    if checker.problems:
        raise DefinitionError(checker.problems)
    return survey


def _whole(checker: _Checker, data: dict[str, Any], key: str, where: str) -> float | None:
    value = checker.number(data, key, where)
    if value is not None and value != int(value):
        checker.fail(
            where,
            _("veld '%(key)s' moet een heel getal zijn", key=key),
            key,
            _("moet een heel getal zijn"),
        )
        return None
    return value


def _age_bounds_problem(age_min: int, age_max: int) -> tuple[str, str]:
    """Which age field is wrong, and how, for a form that shows it beside that field."""
    if age_min < 0:
        return "age_min", _("mag niet kleiner dan 0 zijn")
    if age_max > 120:
        return "age_max", _("mag hoogstens 120 zijn")
    return "age_max", _("is kleiner dan de leeftijd vanaf")


_CONTROLLED_KEY = object()  # stands in for the value of a key that holds a control character


def _with_control_characters(data: Any) -> Iterator[str]:
    """The place of every key or text in `data` holding a control character (tab and
    line breaks aside), e.g. `pages[0].questions[2].text`.

    This walks whatever the file holds, before the schema is checked, so it joins a place
    only to report it: a place joined at every level costs memory quadratic in the depth
    (900 levels of 3,000-character keys, a 2.7 MB upload, held 1.2 GB). A stack of its own
    keeps the walk off Python's recursion limit, which json.loads leaves little room under.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, place = stack.pop()
        if value is _CONTROLLED_KEY or (isinstance(value, str) and CONTROL_RE.search(value)):
            yield _place(place)
        elif isinstance(value, dict):
            stack.extend(
                (_CONTROLLED_KEY if CONTROL_RE.search(str(key)) else item, (*place, str(key)))
                for key, item in reversed(value.items())
            )
        elif isinstance(value, list):
            stack.extend((item, (*place, n)) for n, item in reversed(list(enumerate(value))))


def _place(parts: tuple[str | int, ...]) -> str:
    """`pages[0].questions[2].text` from ("pages", 0, "questions", 2, "text")."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).removeprefix(".")


def _short(text: str, limit: int = 200) -> str:
    """A place or value as a message shows it: a file may hold keys of any length."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _translations(
    checker: _Checker, raw: dict[str, Any], kind: str, where: str
) -> translation.Translations | None:
    found = translation.check(checker, raw.get("translations"), kind, where)
    return found or None


def _build_pages(checker: _Checker, pages: Any, survey: Survey) -> None:
    if not isinstance(pages, list) or not pages:
        checker.fail(
            _("vragenlijst"), _("veld 'pages' moet een lijst met minstens één pagina zijn")
        )
        return
    seen: dict[str, Question] = {}
    position = 0
    for page_no, raw_page in enumerate(pages, start=1):
        checker.page = page_no
        page = _build_page(checker, raw_page, page_no, seen, survey)
        checker.page = None
        if page is None:
            continue
        for question in page.questions:
            question.position = position
            question.survey = survey
            position += 1


def _build_page(
    checker: _Checker, raw: Any, page_no: int, seen: dict[str, Question], survey: Survey
) -> Page | None:
    where = _("pagina %(num)d", num=page_no)
    if not isinstance(raw, dict):
        checker.fail(where, _("moet een object zijn met 'questions'"))
        return None
    for key in sorted(set(raw) - {"title", "questions", "show_if", "translations"}):
        checker.fail(where, _("onbekend veld '%(key)s'", key=key))
    page = Page(
        position=page_no - 1,
        title=checker.text(raw, "title", where, required=False, limit=200),
        survey=survey,
        translations=_translations(checker, raw, "page", where),
    )
    page.show_if = _condition(checker, raw.get("show_if"), where, seen)
    questions = raw.get("questions")
    if not isinstance(questions, list) or not questions:
        checker.fail(where, _("veld 'questions' moet een lijst met minstens één vraag zijn"))
        return page
    for q_no, raw_q in enumerate(questions, start=1):
        at = _("pagina %(page)d, vraag %(num)d", page=page_no, num=q_no)
        question = _build_question(checker, raw_q, at, seen)
        if question is not None:
            page.questions.append(question)
    return page


def _build_question(
    checker: _Checker, raw: Any, where: str, seen: dict[str, Question]
) -> Question | None:
    if not isinstance(raw, dict):
        checker.fail(where, _("moet een object zijn"))
        return None
    code = raw.get("code")
    checker.question = code if isinstance(code, str) else None
    if not isinstance(code, str) or not CODE_RE.match(code):
        checker.fail(
            where,
            _(
                "veld 'code' moet beginnen met een kleine letter en mag alleen "
                "kleine letters, cijfers en _ bevatten"
            ),
            "code",
            _(
                "moet beginnen met een kleine letter en mag alleen kleine letters, "
                "cijfers en _ bevatten"
            ),
        )
        code = None
    else:
        where = _("vraag '%(code)s'", code=code)
        if code in seen:
            checker.fail(where, _("deze code komt twee keer voor"), "code", _("is al in gebruik"))
    for key in sorted(set(raw) - QUESTION_KEYS):
        checker.fail(where, _("onbekend veld '%(key)s'", key=key))
    try:
        return _question(checker, raw, code, where, seen)
    finally:
        checker.question = None


def _question(
    checker: _Checker, raw: dict[str, Any], code: str | None, where: str, seen: dict[str, Question]
) -> Question:
    qtype = _enum_value(checker, QuestionType, raw.get("type"), where, "type")
    question = Question(
        code=code or "",
        type=qtype,
        text=checker.text(raw, "text", where, limit=2000),
        help_text=checker.text(raw, "help", where, required=False, limit=2000),
        required=bool(raw.get("required", False)),
        translations=_translations(checker, raw, "question", where),
    )
    # Conditions may only look back, so a respondent never depends on a later answer.
    question.show_if = _condition(checker, raw.get("show_if"), where, seen)
    if qtype is not None:
        question.settings = _settings(checker, raw, qtype, where)
        question.options = _options(checker, raw, qtype, where)
    if code and code not in seen:
        seen[code] = question
    return question


def _settings(
    checker: _Checker, raw: dict[str, Any], qtype: QuestionType, where: str
) -> dict[str, Any]:
    allowed = SETTINGS.get(qtype, set())
    settings: dict[str, Any] = {}
    for key in sorted(set(raw) & {k for keys in SETTINGS.values() for k in keys}):
        if key not in allowed:
            checker.fail(
                where,
                _("veld '%(key)s' past niet bij type '%(type)s'", key=key, type=qtype.value),
                key,
                _("hoort niet bij dit soort vraag; maak het leeg"),
            )
        elif key == "decimal":
            settings[key] = bool(raw[key])
        else:
            value = checker.number(raw, key, where)
            if value is not None:
                settings[key] = value
    if "min" in settings and "max" in settings and settings["min"] > settings["max"]:
        checker.fail(
            where, _("'min' is groter dan 'max'"), "min", _("is groter dan het grootste getal")
        )
    for key in ("max_choices", "max_length"):
        if key in settings and (settings[key] < 1 or settings[key] != int(settings[key])):
            checker.fail(
                where,
                _("'%(key)s' moet een heel getal van minstens 1 zijn", key=key),
                key,
                _("moet een heel getal van minstens 1 zijn"),
            )
    if settings.get("max_length", 0) > 10_000:
        checker.fail(
            where,
            _("'max_length' mag hoogstens 10000 zijn"),
            "max_length",
            _("mag hoogstens 10000 zijn"),
        )
    return settings


def _options(
    checker: _Checker, raw: dict[str, Any], qtype: QuestionType, where: str
) -> list[Option]:
    given = raw.get("options")
    pairs: list[tuple[str, str]]
    if qtype is QuestionType.YES_NO:
        pairs = list(YES_NO_OPTIONS)
    elif qtype is QuestionType.AGREE_SCALE:
        pairs = list(AGREE_OPTIONS)
    else:
        pairs = []
    translated: dict[str, translation.Translations | None] = {}
    if given is not None and qtype not in MAY_HAVE_OPTIONS:
        checker.fail(
            where,
            _("type '%(type)s' heeft geen eigen antwoordopties", type=qtype.value),
            "options",
            _("dit soort vraag heeft geen eigen antwoordopties; maak dit leeg"),
        )
    if qtype in MAY_HAVE_OPTIONS:
        if qtype in NEEDS_OPTIONS and (not isinstance(given, list) or len(given) < 2):
            checker.fail(
                where,
                _("veld 'options' moet minstens twee antwoordopties bevatten"),
                "options",
                _("geef minstens twee antwoordopties"),
            )
            given = []
        for n, opt in enumerate(given or [], start=1):
            if (
                not isinstance(opt, dict)
                or set(opt) - {"code", "label", "translations"}
                or not CODE_RE.match(str(opt.get("code", "")))
                or not str(opt.get("label", "")).strip()
            ):
                checker.fail(
                    where,
                    _(
                        "antwoordoptie %(num)d moet een 'code' (kleine letters, "
                        "cijfers, _) en een 'label' hebben",
                        num=n,
                    ),
                    "options",
                )
                continue
            pairs.append((opt["code"], str(opt["label"]).strip()))
            at = _("%(where)s, antwoordoptie '%(code)s'", where=where, code=opt["code"])
            translated[opt["code"]] = _translations(checker, opt, "option", at)
    if raw.get("other"):
        if qtype not in NEEDS_OPTIONS:
            checker.fail(
                where,
                _("'other' (anders, namelijk) kan alleen bij een keuzevraag"),
                "other",
                _("kan alleen bij een keuzevraag"),
            )
        else:
            pairs.append(("anders", OTHER_LABEL))
    codes = [c for c, _label in pairs]
    for dup in sorted({c for c in codes if codes.count(c) > 1}):
        checker.fail(where, _("antwoordoptie '%(code)s' komt twee keer voor", code=dup), "options")
    return [
        Option(
            position=i,
            code=c,
            label=label,
            is_other=bool(raw.get("other")) and c == "anders",
            translations=translated.get(c),
        )
        for i, (c, label) in enumerate(pairs)
    ]


def _condition(
    checker: _Checker, raw: Any, where: str, seen: dict[str, Question]
) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"question", "op", "value", "values"}:
        checker.fail(
            where, _("'show_if' moet 'question', 'op' en 'value' of 'values' hebben"), "show_if"
        )
        return None
    source = seen.get(raw.get("question"))  # type: ignore[arg-type]
    if source is None:
        checker.fail(
            where,
            _(
                "'show_if' verwijst naar vraag %(code)s, die niet eerder in de vragenlijst staat",
                code=repr(raw.get("question")),
            ),
            "show_if",
            _(
                "vraag %(code)s staat niet eerder in de vragenlijst",
                code=repr(raw.get("question")),
            ),
        )
        return None
    op = raw.get("op")
    if op not in OPERATORS:
        checker.fail(
            where,
            _("'show_if' heeft onbekende 'op' %(op)s (kies uit equals, in, not)", op=repr(op)),
            "show_if.op",
            _("kies een van de mogelijkheden"),
        )
        return None
    values = raw.get("values", [raw["value"]] if "value" in raw else None)
    if not isinstance(values, list) or not values or (op == "equals" and len(values) != 1):
        checker.fail(
            where,
            _("'show_if' heeft één 'value' nodig (bij 'in' en 'not': 'values')"),
            "show_if.values",
            _("geef bij ‘is’ precies één antwoordcode, anders één of meer"),
        )
        return None
    values = [str(v).strip() for v in values]
    if source.type is QuestionType.AGE:
        # Ages compare as whole numbers, however they were typed ("16", " 16", "016").
        ages = [whole_number(v, max_digits=3) for v in values]
        if not all(age is not None and age <= 120 for age in ages):
            checker.fail(
                where,
                _(
                    "'show_if': vraag '%(code)s' is een leeftijd: gebruik hele getallen",
                    code=source.code,
                ),
                "show_if.values",
                _("vraag '%(code)s' is een leeftijd: gebruik hele getallen", code=source.code),
            )
            return None
        return {"question": source.code, "op": op, "values": [str(age) for age in ages]}
    if source.type is QuestionType.MUNICIPALITY:
        allowed = checker.municipalities
    elif source.type in FIXED_VALUES or source.options:
        allowed = FIXED_VALUES.get(source.type, {o.code for o in source.options})
    else:
        checker.fail(
            where,
            _(
                "'show_if' kan niet kijken naar vraag '%(code)s' van type '%(type)s' "
                "(wel naar keuzevragen, leeftijd en gemeente)",
                code=source.code,
                type=source.type.value,
            ),
            "show_if",
            _(
                "kan niet kijken naar vraag '%(code)s'; wel naar keuzevragen, leeftijd en gemeente",
                code=source.code,
            ),
        )
        return None
    for value in values:
        if value not in allowed:
            checker.fail(
                where,
                _(
                    "'show_if': vraag '%(code)s' heeft geen antwoord %(value)s",
                    code=source.code,
                    value=repr(value),
                ),
                "show_if.values",
                _(
                    "vraag '%(code)s' heeft geen antwoord %(value)s",
                    code=source.code,
                    value=repr(value),
                ),
            )
    return {"question": source.code, "op": op, "values": values}
