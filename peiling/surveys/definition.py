"""An immutable, cached snapshot of a questionnaire that the public form works from.

The snapshot lets a page view run a single SQL query (the survey row, for its status and
version); pages, questions, options and municipalities come from memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from peiling.geo import Municipality
from peiling.i18n import translate
from peiling.surveys import translation
from peiling.surveys.models import Option, Page, Question, QuestionType, Survey

CHOICE_TYPES = frozenset(
    {
        QuestionType.SINGLE_CHOICE,
        QuestionType.YES_NO,
        QuestionType.AGREE_SCALE,
        QuestionType.GRADE,
        QuestionType.MUNICIPALITY,
    }
)


VOLUNTEER_PARTS = ("naam", "email", "telefoon", "act", "toestemming")


@dataclass(frozen=True)
class OptionDef:
    id: int | None
    code: str
    label: str
    is_other: bool = False


@dataclass(frozen=True)
class Condition:
    """Show something only when an earlier question's answer matches."""

    question: str
    op: str  # "equals", "in" or "not"
    values: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """Return the condition in the definition file's form."""
        return {"question": self.question, "op": self.op, "values": list(self.values)}


@dataclass(frozen=True)
class QuestionDef:
    id: int
    code: str
    type: QuestionType
    text: str
    help_text: str
    required: bool
    settings: dict[str, Any]
    options: tuple[OptionDef, ...]
    show_if: Condition | None
    page_index: int

    def option(self, code: str) -> OptionDef | None:
        return self.options_by_code.get(code)

    @cached_property
    def options_by_code(self) -> dict[str, OptionDef]:
        return {opt.code: opt for opt in self.options}

    @cached_property
    def field(self) -> str:
        """Name of the question's main form field."""
        return f"q_{self.code}"

    @cached_property
    def has_other(self) -> bool:
        """Whether one of the options is "anders, namelijk" (with a text field of its own)."""
        return any(o.is_other for o in self.options)

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """Every form field name that belongs to this question."""
        names = [self.field]
        if self.has_other:
            names.append(f"{self.field}__anders")
        if self.type is QuestionType.VOLUNTEER:
            names += [f"{self.field}__{part}" for part in VOLUNTEER_PARTS]
        return tuple(names)


@dataclass(frozen=True)
class PageDef:
    index: int
    title: str
    show_if: Condition | None
    questions: tuple[QuestionDef, ...]


@dataclass(frozen=True)
class SurveyDef:
    id: int
    revision: str
    slug: str
    title: str
    introduction: str
    age_min: int
    age_max: int
    privacy_statement: str
    allow_multiple_responses: bool
    pages: tuple[PageDef, ...]
    by_code: dict[str, QuestionDef] = field(repr=False)
    lang: str = translation.SOURCE  # the language of this snapshot's texts
    languages: tuple[str, ...] = (translation.SOURCE,)  # every language the survey offers

    @cached_property
    def questions(self) -> tuple[QuestionDef, ...]:
        return tuple(q for p in self.pages for q in p.questions)

    @cached_property
    def age_questions(self) -> tuple[QuestionDef, ...]:
        """The age questions (seldom more than one), so that the age is found without
        going through every question on each submission."""
        return tuple(q for q in self.questions if q.type is QuestionType.AGE)

    @cached_property
    def municipality_questions(self) -> tuple[QuestionDef, ...]:
        return tuple(q for q in self.questions if q.type is QuestionType.MUNICIPALITY)

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        """Every form field name of the questionnaire (computed once per snapshot)."""
        return tuple(name for q in self.questions for name in q.fields)


def condition_from_json(raw: dict[str, Any] | None) -> Condition | None:
    if not raw:
        return None
    values = raw.get("values")
    if values is None:
        values = [raw["value"]]
    return Condition(raw["question"], raw["op"], tuple(str(v) for v in values))


def builtin_options(qtype: QuestionType, municipalities: list[tuple[str, str]]) -> list[OptionDef]:
    """Options that a type implies, for types whose answers are not stored as option rows."""
    if qtype is QuestionType.GRADE:
        return [OptionDef(None, str(n), str(n)) for n in range(1, 11)]
    if qtype is QuestionType.MUNICIPALITY:
        return [OptionDef(None, code, name) for code, name in municipalities]
    return []


# Types whose options come with the type (stored in Dutch): their labels are translated
# from the interface catalogue unless the questionnaire gives its own translation.
BUILTIN_LABELS = frozenset({QuestionType.YES_NO, QuestionType.AGREE_SCALE})


def _option_label(option: Option, qtype: QuestionType, lang: str) -> str:
    own = translation.text(option.translations, lang, "label", "")
    if own or lang == translation.SOURCE:
        return own or option.label
    if option.is_other or qtype in BUILTIN_LABELS:
        return translate(option.label, lang)
    return option.label


def compile_survey(session: Session, survey: Survey, lang: str = translation.SOURCE) -> SurveyDef:
    """Build the snapshot for `survey` with its texts in `lang` (falling back to Dutch per
    text); a handful of queries, cached by `get_definition`."""
    # One statement for pages, questions and options (outer joins): with the survey row and
    # the municipalities, a worker's first view of a poll stays within three queries.
    pages = (
        session.scalars(
            select(Page)
            .where(Page.survey_id == survey.id)
            .order_by(Page.position)
            .options(joinedload(Page.questions).joinedload(Question.options))
        )
        .unique()
        .all()
    )
    munis = [
        (m.code, m.name)
        for m in session.scalars(
            select(Municipality)
            .where(Municipality.region_code == survey.region_code)
            .order_by(Municipality.name)
        )
    ]
    page_defs = []
    by_code: dict[str, QuestionDef] = {}
    for index, page in enumerate(pages):
        qdefs = []
        for q in page.questions:
            opts = [
                OptionDef(o.id, o.code, _option_label(o, q.type, lang), o.is_other)
                for o in q.options
            ]
            opts += builtin_options(q.type, munis)
            qdef = QuestionDef(
                id=q.id,
                code=q.code,
                type=q.type,
                text=translation.text(q.translations, lang, "text", q.text),
                help_text=translation.text(q.translations, lang, "help", q.help_text),
                required=q.required,
                settings=dict(q.settings or {}),
                options=tuple(opts),
                show_if=condition_from_json(q.show_if),
                page_index=index,
            )
            qdefs.append(qdef)
            by_code[q.code] = qdef
        title = translation.text(page.translations, lang, "title", page.title)
        page_defs.append(PageDef(index, title, condition_from_json(page.show_if), tuple(qdefs)))
    return SurveyDef(
        id=survey.id,
        revision=survey.revision,
        slug=survey.slug,
        title=translation.text(survey.translations, lang, "title", survey.title),
        introduction=translation.text(
            survey.translations, lang, "introduction", survey.introduction
        ),
        age_min=survey.age_min,
        age_max=survey.age_max,
        privacy_statement=translation.text(
            survey.translations, lang, "privacy_statement", survey.privacy_statement
        ),
        allow_multiple_responses=survey.allow_multiple_responses,
        pages=tuple(page_defs),
        by_code=by_code,
        lang=lang,
        languages=translation.offered(survey.languages),
    )


_cache: dict[tuple[int, str], SurveyDef] = {}
_by_slug: dict[tuple[str, str], SurveyDef] = {}
_lock = threading.Lock()


def get_definition(session: Session, survey: Survey, lang: str = translation.SOURCE) -> SurveyDef:
    """Return the cached snapshot of `survey` in `lang`, rebuilding it when its revision
    changed. A language the survey does not offer gives the Dutch snapshot."""
    if lang not in translation.offered(survey.languages):
        lang = translation.SOURCE
    cached = _cache.get((survey.id, lang))
    if cached is not None and cached.revision == survey.revision:
        return cached
    compiled = compile_survey(session, survey, lang)
    with _lock:
        _cache[(survey.id, lang)] = compiled
        _by_slug[(compiled.slug, lang)] = compiled
    return compiled


def last_served(slug: str, lang: str = translation.SOURCE) -> SurveyDef | None:
    """The snapshot in `lang` this process last built for `slug`, unchecked against the
    database.

    Only for a caller that checks the survey's revision and status in the same statement
    that uses it, as storing a response does.
    """
    return _by_slug.get((slug, lang))


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _by_slug.clear()
