"""Headlines in plain language from the figures, with the words researchers use for a share
("ruim een derde", "bijna de helft"), always next to the exact percentage."""

from __future__ import annotations

from flask_babel import gettext as _

from peiling.analysis.counting import MANY_ROWS
from peiling.analysis.results import QuestionTable, Results
from peiling.i18n import N_
from peiling.surveys.models import QuestionType

# Shares people say in words, and how close counts as "exactly".
ANCHORS: list[tuple[float, str]] = [
    (1 / 10, N_("een op de tien")),
    (1 / 5, N_("een op de vijf")),
    (1 / 4, N_("een kwart")),
    (1 / 3, N_("een derde")),
    (1 / 2, N_("de helft")),
    (2 / 3, N_("twee derde")),
    (3 / 4, N_("drie kwart")),
    (9 / 10, N_("negen op de tien")),
]
EXACT = 0.01


def quantifier(share: float) -> str:
    """`share` (0..1) in words: "ruim een derde" for 0.36, "bijna de helft" for 0.48."""
    if share >= 0.97:
        return _("vrijwel iedereen")
    if share <= 0.03:
        return _("vrijwel niemand")
    anchor, words = min(ANCHORS, key=lambda item: abs(item[0] - share))
    amount = _(words)
    if abs(share - anchor) <= EXACT:
        return amount
    if share < anchor:
        return _("bijna %(amount)s", amount=amount)
    return _("ruim %(amount)s", amount=amount)


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def headlines(found: Results) -> list[str]:
    """One line per closed question that has a clear figure, for the whole of the results."""
    lines = []
    for table in found.tables:
        line = _headline(table)
        if line:
            lines.append(line)
    return lines


def _headline(table: QuestionTable) -> str | None:
    q = table.question
    cells = [(row.label, row.code, row.cells[0]) for row in table.rows]
    shown = [(label, code, c) for label, code, c in cells if not c.hidden and c.base]
    if not shown or table.answered[0].hidden:
        return None
    if q.type is QuestionType.VOLUNTEER:
        willing = next((c for _label, code, c in shown if code == "ja"), None)
        if willing is None:
            return None
        return _(
            "%(count)s deelnemers (%(percent)s, %(amount)s) willen helpen organiseren.",
            count=willing.count,
            percent=percent(willing.share or 0),
            amount=quantifier(willing.share or 0),
        )
    if q.type in MANY_ROWS:
        top = sorted(shown, key=lambda item: -item[2].count)[:3]
        picks = ", ".join(
            f"‘{label}’ {percent(c.share or 0)} ({quantifier(c.share or 0)})"
            for label, _code, c in top
        )
        return _("Meest gekozen bij ‘%(question)s’: %(picks)s.", question=q.text, picks=picks)
    if q.type in (QuestionType.MUNICIPALITY, QuestionType.GRADE):
        return None  # where people live, and grades, read better from their tables
    label, _code, cell = max(shown, key=lambda item: item[2].count)
    return _(
        "%(percent)s (%(amount)s) antwoordt ‘%(answer)s’ op ‘%(question)s’",
        percent=percent(cell.share or 0),
        amount=quantifier(cell.share or 0),
        answer=label,
        question=q.text,
    )
