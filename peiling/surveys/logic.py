"""Conditions: which pages and questions a respondent sees, given her answers so far."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from peiling.numbers import whole_number
from peiling.surveys.definition import Condition, PageDef, SurveyDef

Raw = Mapping[str, Sequence[str]]


def condition_holds(cond: Condition | None, raw: Raw, visible: set[str]) -> bool:
    """Evaluate `cond` against the raw answers; a hidden source question never matches.

    For a multiple-choice source, "equals x" means "x is among the picks". "not" holds when
    the source was shown but none of the values was given (including no answer at all).
    """
    if cond is None:
        return True
    if cond.question not in visible:
        return False
    given = {normalise(v) for v in raw.get(f"q_{cond.question}", ())}
    if cond.op == "equals":
        return cond.values[0] in given
    if cond.op == "in":
        return not given.isdisjoint(cond.values)
    if cond.op == "not":
        return given.isdisjoint(cond.values)
    raise ValueError(f"unknown condition operator {cond.op!r}")


def normalise(value: str) -> str:
    """A posted value as conditions compare it: trimmed, whole numbers without leading zeros."""
    value = value.strip()
    number = whole_number(value)
    return value if number is None else str(number)


def visible_questions(defn: SurveyDef, raw: Raw) -> set[str]:
    """Return the codes of every question the respondent sees with these answers."""
    visible: set[str] = set()
    for page in defn.pages:
        if page.show_if is not None and not condition_holds(page.show_if, raw, visible):
            continue
        for q in page.questions:
            # Most questions have no condition: no call to decide that they are shown.
            if q.show_if is None or condition_holds(q.show_if, raw, visible):
                visible.add(q.code)
    return visible


def visible_pages(defn: SurveyDef, raw: Raw, visible: set[str] | None = None) -> list[PageDef]:
    """Return the pages that have at least one visible question, in order.

    `visible` is `visible_questions(defn, raw)`, for a caller that has it already.
    """
    if visible is None:
        visible = visible_questions(defn, raw)
    return [p for p in defn.pages if any(q.code in visible for q in p.questions)]


def depends_on_same_page(page: PageDef, cond: Condition | None) -> bool:
    """True when `cond` refers to a question on `page` itself (decided live, in the browser)."""
    return cond is not None and any(q.code == cond.question for q in page.questions)
