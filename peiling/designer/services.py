"""Changing questionnaires without changing the meaning of answers already given.

Every change here replaces the survey's revision, so workers rebuild their cached
definition and a respondent's final POST, validated against the old version, is checked
again (surveys.services.store_response). Answers point at questions and options by id:
deleting a question or option that has answers, or changing a question's type, would
silently change what those answers mean, so it is refused with an explanation (answers
keep only their foreign key to the response; see migration 0002).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from peiling.database import flush_or_recheck, lock_rows
from peiling.designer import edits
from peiling.geo import as_utc
from peiling.surveys.exporter import export_definition
from peiling.surveys.importer import MAY_HAVE_OPTIONS, build_survey
from peiling.surveys.models import (
    Answer,
    Option,
    Page,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyStatus,
    new_revision,
)


class EditRefused(Exception):
    """A change that would change the meaning of stored answers; the message says why, and
    `field` and `question` which field of which question it is about, when one is."""

    def __init__(self, message: str, field: str | None = None, question: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.question = question


def touch(survey: Survey) -> None:
    """Mark the questionnaire as changed (a new revision)."""
    survey.revision = new_revision()


def question_has_answers(session: Session, question: Question) -> bool:
    return bool(session.scalar(select(exists().where(Answer.question_id == question.id))))


def option_has_answers(session: Session, option: Option) -> bool:
    return bool(session.scalar(select(exists().where(Answer.option_id == option.id))))


def response_count(session: Session, survey: Survey) -> int:
    stmt = select(func.count()).select_from(Response).where(Response.survey_id == survey.id)
    return int(session.scalar(stmt) or 0)


def _conditions(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every condition of a definition, with where it is (in the interface language)."""
    found = [
        (_("pagina %(num)d", num=n), p["show_if"])
        for n, p in enumerate(data["pages"], 1)
        if p.get("show_if")
    ]
    found += [
        (_("vraag '%(code)s'", code=q["code"]), q["show_if"])
        for page in data["pages"]
        for q in page["questions"]
        if q.get("show_if")
    ]
    return found


def _needed_question(data: dict[str, Any], code: str) -> None:
    places = [where for where, cond in _conditions(data) if cond["question"] == code]
    if places:
        raise EditRefused(
            _(
                "Vraag '%(code)s' kan niet weg: %(places)s hangt ervan af. "
                "Pas eerst die voorwaarde aan.",
                code=code,
                places=", ".join(places),
            )
        )


def _needed_option(data: dict[str, Any], question: str, option: Option) -> None:
    places = [
        where
        for where, cond in _conditions(data)
        if cond["question"] == question and option.code in cond.get("values", [])
    ]
    if places:
        raise EditRefused(
            _(
                "Antwoordoptie '%(label)s' kan niet weg: de voorwaarde van %(places)s "
                "gebruikt haar.",
                label=option.label,
                places=", ".join(places),
            ),
            "options",
            question,
        )


# One change at a time, for callers that have the question or option at hand. Each goes
# through apply_definition, so every rule about answers and conditions is checked there.


def lock_for_edit(session: Session, slug: str) -> None:
    """Call before reading a questionnaire to change it. Two edits of one questionnaire at
    the same moment (a double click on "add page", two researchers) then run one after the
    other, the second on the first's result, instead of failing on a unique position or
    undoing the first."""
    lock_rows(session, Survey.revision, Survey.slug == slug)


def _edit(session: Session, survey: Survey, change: Any) -> None:
    lock_for_edit(session, survey.slug)
    session.refresh(survey)
    data = export_definition(survey)
    change(data)
    apply_definition(session, survey, data)


def _definition_of(data: dict[str, Any], code: str) -> dict[str, Any]:
    page, index = edits.find(data, code)
    return data["pages"][page]["questions"][index]  # type: ignore[no-any-return]


def reword_question(session: Session, question: Question, text: str, help_text: str = "") -> None:
    """Correct a question's wording: always allowed, answers keep their meaning."""

    def change(data: dict[str, Any]) -> None:
        q = _definition_of(data, question.code)
        q["text"] = text
        q.pop("help", None)
        if help_text.strip():
            q["help"] = help_text.strip()

    _edit(session, question.survey, change)


def relabel_option(session: Session, option: Option, label: str) -> None:
    """Correct an option's label: always allowed."""

    def change(data: dict[str, Any]) -> None:
        q = _definition_of(data, option.question.code)
        for item in q.get("options", []):
            if item["code"] == option.code:
                item["label"] = label

    _edit(session, option.question.survey, change)


def change_type(session: Session, question: Question, new_type: QuestionType) -> None:
    """Change a question's type, unless it has answers."""
    _edit(
        session,
        question.survey,
        lambda d: _definition_of(d, question.code).update(type=new_type.value),
    )


def delete_question(session: Session, question: Question) -> None:
    """Delete a question that has no answers and that no condition looks at."""
    _edit(session, question.survey, lambda d: edits.remove_question(d, question.code))


def delete_option(session: Session, option: Option) -> None:
    """Delete an option that has no answers and that no condition compares with."""
    question = option.question

    def change(data: dict[str, Any]) -> None:
        q = _definition_of(data, question.code)
        if option.is_other:
            q.pop("other", None)
        elif any(item["code"] == option.code for item in q.get("options", [])):
            q["options"] = [item for item in q["options"] if item["code"] != option.code]
        else:
            _needed_option(data, question.code, option)
            raise EditRefused(
                _("Antwoordoptie '%(label)s' hoort bij dit soort vraag.", label=option.label)
            )

    _edit(session, question.survey, change)


def delete_page(session: Session, page: Page) -> None:
    """Delete a page with all its questions, if none of them can be refused."""
    _edit(session, page.survey, lambda d: d["pages"].pop(page.position))


def publish(session: Session, survey: Survey) -> None:
    """Open the survey to respondents."""
    if not survey.questions:
        raise EditRefused(_("Een vragenlijst zonder vragen kan niet open."))
    if survey.closes_at is not None and as_utc(survey.closes_at) <= datetime.now(UTC):
        raise EditRefused(_("De sluitingsdatum is al voorbij: kies eerst een latere."))
    survey.status = SurveyStatus.OPEN
    survey.closed_at = None
    touch(survey)


def close(survey: Survey) -> None:
    survey.status = SurveyStatus.CLOSED
    survey.closed_at = datetime.now(UTC)
    touch(survey)


def reopen(session: Session, survey: Survey) -> None:
    publish(session, survey)


def duplicate(session: Session, survey: Survey, slug: str, title: str | None = None) -> Survey:
    """A new draft with the same pages, questions, options and conditions, without answers.

    Raises surveys.importer.DefinitionError when the slug is taken or invalid.
    """
    data = export_definition(survey)
    # The title is a questionnaire text, in Dutch like every questionnaire's own texts.
    data.update(slug=slug, title=title or f"{survey.title} (kopie)", status="draft")
    data.pop("opens_at", None)
    data.pop("closes_at", None)
    copy = build_survey(session, data)
    session.add(copy)
    flush_or_recheck(session, lambda: build_survey(session, data))  # a double click
    return copy


_PROBE_SLUG = "ontwerp-controle"  # stands in for the survey's own slug while validating
SURVEY_FIELDS = (
    "title",
    "introduction",
    "kind",
    "opens_at",
    "closes_at",
    "age_min",
    "age_max",
    "region_code",
    "privacy_statement",
    "allow_multiple_responses",
    "languages",
    "translations",
)


QUESTION_FIELDS = (
    "position",
    "type",
    "text",
    "help_text",
    "required",
    "settings",
    "translations",
)


def apply_definition(session: Session, survey: Survey, data: dict[str, Any]) -> None:
    """Make `survey` match the definition `data` (the importer's JSON format).

    Everything is validated by the importer first. Questions and options whose code stays
    keep their rows and ids, so their answers keep their meaning. The survey's slug and
    status are not changed here (see publish/close). Raises DefinitionError when `data` is
    invalid and EditRefused when the change would alter stored answers; nothing is
    changed then.
    """
    _check_conditions(survey, data)
    with session.no_autoflush:
        built = build_survey(session, {**data, "slug": _PROBE_SLUG, "status": "draft"})
    new = {q.code: q for p in built.pages for q in p.questions}
    answered = response_count(session, survey) > 0
    if answered and built.region_code != survey.region_code:
        raise EditRefused(_("Er zijn al antwoorden: de regio kan niet meer veranderen."))
    for question in survey.questions:
        target = new.get(question.code)
        if target is None:
            if question_has_answers(session, question):
                raise EditRefused(
                    _(
                        "Vraag '%(code)s' heeft al antwoorden en kan daarom niet weg.",
                        code=question.code,
                    )
                )
            continue
        if target.type is not question.type and question_has_answers(session, question):
            raise EditRefused(
                _(
                    "Vraag '%(code)s' heeft al antwoorden: het soort vraag kan niet "
                    "meer veranderen. Maak een nieuwe vraag.",
                    code=question.code,
                ),
                "type",
                question.code,
            )
        kept = {o.code for o in target.options}
        for option in question.options:
            if option.code not in kept and option_has_answers(session, option):
                raise EditRefused(
                    _(
                        "Antwoordoptie '%(label)s' is al gekozen en kan daarom niet weg.",
                        label=option.label,
                    ),
                    "options",
                    question.code,
                )
    for field in SURVEY_FIELDS:
        setattr(survey, field, getattr(built, field))
    _sync(session, survey, built)
    touch(survey)


def _check_conditions(survey: Survey, data: dict[str, Any]) -> None:
    """Refuse to remove a question or option that a remaining condition still uses."""
    remaining = {q["code"]: q for page in data["pages"] for q in page["questions"]}
    for question in survey.questions:
        new = remaining.get(question.code)
        if new is None:
            _needed_question(data, question.code)
        elif question.type in MAY_HAVE_OPTIONS and new.get("type") == question.type.value:
            kept = {item["code"] for item in new.get("options", [])}
            kept |= {"anders"} if new.get("other") else set()
            for option in question.options:
                if option.code not in kept:
                    _needed_option(data, question.code, option)


def _sync(session: Session, survey: Survey, built: Survey) -> None:
    new_codes = {q.code for p in built.pages for q in p.questions}
    for question in list(survey.questions):
        if question.code not in new_codes:
            session.delete(question)
    session.flush()
    pages = list(survey.pages)
    for page in pages:  # their question lists still hold the deleted ones
        session.expire(page, ["questions"])
    session.expire(survey, ["questions"])
    # Park every position out of the way first: (survey, position) is unique.
    for n, page in enumerate(pages):
        page.position = -1 - n
    for n, question in enumerate(q for q in survey.questions if q.code in new_codes):
        question.position = -1 - n
    session.flush()
    existing = {q.code: q for q in survey.questions if q.code in new_codes}
    for index, source in enumerate(built.pages):
        page = pages[index] if index < len(pages) else Page(survey=survey)
        page.position, page.title, page.show_if = index, source.title, source.show_if
        page.translations = source.translations
        session.add(page)
        for source_q in source.questions:
            question = existing.get(source_q.code) or Question(survey=survey, code=source_q.code)
            question.page = page
            for field in QUESTION_FIELDS:
                setattr(question, field, getattr(source_q, field))
            question.show_if = source_q.show_if
            _sync_options(session, question, source_q)
            session.add(question)
    for page in pages[len(built.pages) :]:
        session.delete(page)
    session.flush()
    session.expire(survey, ["pages", "questions"])


def _sync_options(session: Session, question: Question, source: Question) -> None:
    current = {o.code: o for o in question.options}
    wanted = [o.code for o in source.options]
    for code, option in current.items():
        if code not in wanted:
            session.delete(option)
    for position, src in enumerate(source.options):
        option = current.get(src.code) or Option(question=question, code=src.code)
        option.position, option.label, option.is_other = position, src.label, src.is_other
        option.translations = src.translations
        session.add(option)
