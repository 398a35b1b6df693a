"""Reading the CSV files staff upload: member lists and population figures.

Spreadsheet programs write them with ; or , between fields and with any line ending
(Excel for Mac's "CSV (Macintosh)" ends lines with a bare CR). Whatever a file holds, the
caller gets its rows or an UnreadableCsv whose text can be shown as it is.
"""

from __future__ import annotations

import csv
import io

from flask_babel import gettext as _

SNIFF_CHARS = 4000


class UnreadableCsv(ValueError):
    """A file that cannot be read as CSV; str() is the message for staff."""


class _Semicolon(csv.excel):
    delimiter = ";"


def csv_rows(text: str) -> list[list[str]]:
    """The rows of `text`, every field stripped; empty rows are kept (as []).

    The separator is what csv.Sniffer finds; when it cannot tell (one column, or a single
    line), the one the first line holds more of, ; when even."""
    if not text.strip():
        return []
    dialect: type[csv.Dialect] | csv.Dialect
    try:
        dialect = csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=";,")
    except csv.Error:
        first = text.lstrip().splitlines()[0]
        dialect = csv.excel if first.count(",") > first.count(";") else _Semicolon
    # newline="" hands every line ending to the csv module, which knows them all.
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        return [[value.strip() for value in row] for row in reader]
    except csv.Error as exc:  # e.g. a field longer than csv.field_size_limit()
        raise UnreadableCsv(
            _("Regel %(n)s van het bestand kan niet als CSV worden gelezen.", n=reader.line_num)
        ) from exc
