"""Keeping typed text from becoming a formula in the spreadsheets and CSV files we hand out.

An .xlsx cell written as a string is never a formula, whatever its text starts with; a
CSV field has no types, so a spreadsheet program decides from its first character. There
a leading apostrophe makes it text (OWASP's advice for CSV injection), and the rest of the
value stays readable.
"""

from __future__ import annotations

# The characters a spreadsheet program may start a formula (or a DDE call) with, including
# the full-width forms some locales' input methods type.
FORMULA_STARTS = frozenset("=+-@\t\r\n＝＋－＠")


def csv_text(value: object) -> str:
    """A CSV field's text that no spreadsheet program reads as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text and text[0] in FORMULA_STARTS else text
