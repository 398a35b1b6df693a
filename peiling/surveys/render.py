"""Everything the page template needs, prepared as plain data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from peiling.i18n import N_
from peiling.surveys.answers import (
    CHOICE,
    GUARDIAN,
    OF_AGE,
    Problems,
    consent_age,
    consent_question,
    input_id,
)
from peiling.surveys.definition import Condition, PageDef, QuestionDef, SurveyDef
from peiling.surveys.logic import depends_on_same_page, visible_pages, visible_questions
from peiling.surveys.models import QuestionType

YES_NO_LABELS = (("ja", N_("Ja")), ("nee", N_("Nee")))


def condition_note(defn: SurveyDef, cond: Condition) -> str:
    """Explain a same-page condition in words, for people without JavaScript."""
    source = defn.by_code[cond.question]
    labels = [o.label for o in source.options if o.code in cond.values] or list(cond.values)
    if source.type is QuestionType.VOLUNTEER:
        labels = [_(dict(YES_NO_LABELS)[v]) for v in cond.values if v in dict(YES_NO_LABELS)]
    # Quotation marks differ per language: ‘Ja’, «Так».
    choice = _(" of ").join(_("‘%(label)s’", label=label) for label in labels)
    if cond.op == "not":
        return _(
            "Alleen beantwoorden als je bij de vraag ‘%(question)s’ niet %(choice)s koos.",
            question=source.text,
            choice=choice,
        )
    return _(
        "Alleen beantwoorden als je bij de vraag ‘%(question)s’ %(choice)s koos.",
        question=source.text,
        choice=choice,
    )


def guardian_consent(
    defn: SurveyDef, q: QuestionDef, raw: Mapping[str, Sequence[str]], age: int | None = None
) -> dict[str, Any] | None:
    """How the volunteer block asks for a parent's or guardian's permission, or None when
    a known age (an earlier page, or `age` from elsewhere) makes it unnecessary.

    A checkbox for an age under the limit; a choice between "16 or older" and "my parent
    agrees" while the age may stay unknown. With the age on the same page it is always
    sent: without JavaScript it says when it applies, with JavaScript it shows only for an
    age under the limit or no age.
    """
    ask = consent_question(defn, q, raw, age)
    if ask is None:
        return None
    age_question = next((a for a in defn.questions if a.type is QuestionType.AGE), None)
    same_page = age_question is not None and age_question.page_index == q.page_index
    return {
        "age": consent_age(),
        "age_field": age_question.field if same_page and age_question else None,
        "days": int(current_app.config["RETENTION_DAYS"]),
        "choice": ask == CHOICE,
        "guardian": GUARDIAN,
        "of_age": OF_AGE,
    }


def page_context(
    defn: SurveyDef,
    page: PageDef,
    raw: Mapping[str, Sequence[str]],
    problems: Problems,
    age: int | None = None,
) -> dict[str, Any]:
    """Build the template context for one page of the form; `age` is one known from
    elsewhere (a panel member's), for the guardian's permission."""
    visible = visible_questions(defn, raw)
    pages = visible_pages(defn, raw, visible)
    position = pages.index(page) if page in pages else 0
    on_page = {name for q in page.questions for name in q.fields}
    questions = []
    for q in page.questions:
        live = depends_on_same_page(page, q.show_if)
        if q.code not in visible and not live:
            continue  # hidden by an answer on an earlier page: not shown at all
        questions.append(
            {
                "q": q,
                "live_condition": q.show_if.as_json() if live and q.show_if else None,
                "note": condition_note(defn, q.show_if) if live and q.show_if else None,
                "choices": [(o.code, o.label) for o in q.options],
                "consent": guardian_consent(defn, q, raw, age)
                if q.type is QuestionType.VOLUNTEER
                else None,
            }
        )
    hidden = [(n, v) for n, values in raw.items() if n not in on_page for v in values]
    return {
        "survey": defn,
        "page": page,
        "questions": questions,
        "raw": raw,
        "problems": problems,
        "error_ids": {key: msg for key, (_, msg) in problems.errors.items()},
        "hidden_fields": hidden,
        "step": position + 1,
        "steps": len(pages),
        "is_first": position == 0,
        "is_last": position == len(pages) - 1,
        "yes_no_labels": [(code, _(label)) for code, label in YES_NO_LABELS],
        "input_id": input_id,
    }
