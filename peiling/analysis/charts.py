"""Server-rendered SVG bar charts: no script, no third-party request, readable as a table."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

WIDTH = 320
BAR = 18
GAP = 6
LABEL = 130


def bars(items: list[tuple[str, float | None]], title: str) -> Markup:
    """Horizontal bars for (label, share 0..1 or None when hidden), as an accessible SVG.

    The figures are in the table next to it; the chart is marked as an image with a title
    so screen readers announce it once instead of reading every bar.
    """
    height = len(items) * (BAR + GAP) + GAP
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, share) in enumerate(items):
        y = GAP + i * (BAR + GAP)
        text = escape(label if len(label) <= 22 else label[:21] + "…")
        parts.append(f'<text x="0" y="{y + BAR - 5}" font-size="12">{text}</text>')
        if share is None:
            parts.append(f'<text x="{LABEL}" y="{y + BAR - 5}" font-size="12">–</text>')
            continue
        length = round((WIDTH - LABEL - 40) * share, 1)
        parts.append(
            f'<rect x="{LABEL}" y="{y}" width="{length}" height="{BAR}" fill="#154273"/>'
            f'<text x="{LABEL + length + 4}" y="{y + BAR - 5}" font-size="12">'
            f"{share * 100:.0f}%</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


def total_shares(table: Any) -> list[tuple[str, float | None]]:
    """(answer, share of the total column) for a results table; None where hidden."""
    return [(r.label, None if r.cells[0].hidden else r.cells[0].share) for r in table.rows]
