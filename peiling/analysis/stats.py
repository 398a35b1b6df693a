"""Small statistics for results tables: percentages with Wilson intervals, and the rule that
keeps small groups of (young) respondents from being recognisable."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution


def wilson(count: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for the proportion count/n (as fractions, 0..1).

    Unlike the textbook p ± z·se it stays within 0..1 and behaves for small n and for
    proportions near 0 or 1, which is where municipalities are compared.
    """
    if n <= 0:
        return (0.0, 1.0)
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Cell:
    """One count in a results table, with its percentage of `base` respondents.

    `hidden` means the figure must not be shown (shown as "<min" instead): it, or the group
    it belongs to, rests on fewer respondents than the minimum.
    """

    count: int
    base: int
    hidden: bool = False

    @property
    def share(self) -> float | None:
        return self.count / self.base if self.base else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.count, self.base) if self.base else None


def protect(count: int, base: int, minimum: int) -> Cell:
    """A cell, hidden when its group has fewer than `minimum` respondents or when between 1
    and `minimum`-1 respondents gave this answer (a nought gives nobody away)."""
    hidden = base < minimum or 0 < count < minimum
    return Cell(count, base, hidden)
