"""Page-by-page navigation through a questionnaire: what to show after each POST."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from peiling.surveys.answers import Cleaned, Problems, Raw, check_guardian_consent, clean
from peiling.surveys.definition import PageDef, SurveyDef
from peiling.surveys.logic import visible_pages, visible_questions


class Outcome(Enum):
    SHOW_PAGE = "page"  # show `page`, with `problems` when there are any
    AGE_GATE = "gate"  # the respondent is outside the age range: tell her, store nothing
    SUBMIT = "submit"  # everything is valid: store `answers`


@dataclass
class Step:
    outcome: Outcome
    page: PageDef | None = None
    problems: Problems = field(default_factory=Problems)
    answers: dict[str, Cleaned] = field(default_factory=dict)


def first_page(defn: SurveyDef, raw: Raw) -> PageDef:
    return visible_pages(defn, raw)[0]


def check_questions(
    defn: SurveyDef,
    pages: list[PageDef],
    raw: Raw,
    visible: set[str] | None = None,
    age: int | None = None,
) -> tuple[dict[str, Cleaned], Problems]:
    """Validate every visible question on `pages`; hidden questions are skipped entirely.
    `age` is one known from elsewhere (a panel member's), for the guardian's permission."""
    if visible is None:
        visible = visible_questions(defn, raw)
    problems = Problems()
    answers = {}
    for page in pages:
        for q in page.questions:
            if q.code in visible:
                answers[q.code] = clean(q, raw, problems)
    check_guardian_consent(defn, raw, answers, problems, age)
    return answers, problems


def outside_age_range(defn: SurveyDef, answers: dict[str, Cleaned]) -> bool:
    for q in defn.age_questions:
        answer = answers.get(q.code)
        age = answer.number if answer is not None else None
        if age is not None and not defn.age_min <= age <= defn.age_max:
            return True
    return False


def advance(
    defn: SurveyDef, raw: Raw, page_index: int, going_back: bool, age: int | None = None
) -> Step:
    """Decide the next step after the respondent posted page `page_index`; `age` is one
    known from elsewhere (a panel member's), for the guardian's permission."""
    visible = visible_questions(defn, raw)
    pages = visible_pages(defn, raw, visible)
    # The posted page may have disappeared (answers changed on an earlier page in another
    # tab): fall back to the last visible page before it.
    current = [p for p in pages if p.index <= page_index][-1:] or pages[:1]
    page = current[0]
    position = pages.index(page)
    if going_back:
        return Step(Outcome.SHOW_PAGE, pages[max(position - 1, 0)])

    # The last page checks everything, since earlier pages travel as hidden fields; its
    # own errors and age come first, as on any other page.
    last = position + 1 == len(pages)
    answers, problems = check_questions(defn, pages if last else [page], raw, visible, age)
    on_page = Problems({k: e for k, e in problems.errors.items() if e[0].page_index == page.index})
    if on_page:
        return Step(Outcome.SHOW_PAGE, page, on_page)
    page_answers = {q.code: answers[q.code] for q in page.questions if q.code in answers}
    if outside_age_range(defn, page_answers):
        return Step(Outcome.AGE_GATE)
    if problems:
        first_bad = min(q.page_index for q, _ in problems.errors.values())
        return Step(Outcome.SHOW_PAGE, defn.pages[first_bad], problems)
    if not last:
        return Step(Outcome.SHOW_PAGE, pages[position + 1])
    if outside_age_range(defn, answers):
        return Step(Outcome.AGE_GATE)
    return Step(Outcome.SUBMIT, answers=answers)
