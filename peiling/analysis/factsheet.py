"""The fact sheet (feitenblad) of one municipality: its key figures beside the province's,
on one printed A4 page."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from peiling.analysis.filters import Filters
from peiling.analysis.headlines import headlines
from peiling.analysis.results import QuestionTable, Results, results
from peiling.analysis.weighting import Weighting, weighting
from peiling.auth.access import Scope
from peiling.surveys.definition import SurveyDef
from peiling.surveys.models import QuestionType

SKIP = frozenset({QuestionType.MUNICIPALITY, QuestionType.AGE})  # the sheet is per municipality


@dataclass
class FactSheet:
    municipality: str
    own: Results
    province: Results | None  # None for users limited to some municipalities
    lines: list[str]
    weighted: Weighting | None = None  # the municipality's figures weighted, if targets exist

    def tables(self) -> list[tuple[QuestionTable, QuestionTable | None]]:
        other = {t.question.code: t for t in self.province.tables} if self.province else {}
        return [
            (t, other.get(t.question.code))
            for t in self.own.tables
            if t.question.type not in SKIP and t.rows
        ]


def fact_sheet(
    session: Session, defn: SurveyDef, scope: Scope, code: str, name: str, minimum: int = 5
) -> FactSheet:
    own = results(session, defn, scope, Filters(municipalities=(code,)), minimum)
    province = (
        results(session, defn, scope, Filters(), minimum) if scope.municipalities is None else None
    )
    weighted = weighting(session, defn, scope, Filters(municipalities=(code,)))
    return FactSheet(name, own, province, headlines(own), weighted)


def pair_bars(
    own: QuestionTable, province: QuestionTable | None, labels: tuple[str, str]
) -> Markup:
    """Per answer a dark bar for the municipality and a light one for the province."""
    width, label_w, bar, gap = 330, 120, 8, 6
    per_row = bar * (2 if province else 1) + gap
    height = len(own.rows) * per_row + gap + 14
    parts = [
        f'<svg class="pairs" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>'
        f"{escape(own.question.text)}</title>"
    ]
    for i, row in enumerate(own.rows):
        y = gap + i * per_row
        label = row.label if len(row.label) <= 20 else row.label[:19] + "…"
        parts.append(f'<text x="0" y="{y + bar}" font-size="9">{escape(label)}</text>')
        cells = [(row.cells[0], "#154273")]
        if province is not None:
            cells.append((province.rows[i].cells[0], "#8fa9c7"))
        for k, (cell, colour) in enumerate(cells):
            top = y + k * bar
            if cell.hidden or cell.share is None:
                parts.append(f'<text x="{label_w}" y="{top + bar - 1}" font-size="8">–</text>')
                continue
            length = round((width - label_w - 34) * cell.share, 1)
            parts.append(
                f'<rect x="{label_w}" y="{top}" width="{length}" height="{bar - 1}" '
                f'fill="{colour}"/><text x="{label_w + length + 3}" y="{top + bar - 1}" '
                f'font-size="8">{cell.share * 100:.0f}%</text>'
            )
    keys = [(labels[0], "#154273")] + ([(labels[1], "#8fa9c7")] if province else [])
    for k, (name, colour) in enumerate(keys):  # the legend
        x, y = 120 * k, height - 3
        parts.append(
            f'<rect x="{x}" y="{y - 7}" width="8" height="7" fill="{colour}"/>'
            f'<text x="{x + 11}" y="{y}" font-size="8">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
