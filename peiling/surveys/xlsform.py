"""XLSForm (ODK, KoboToolbox) to and from Peiling's JSON definition.

`read_xlsform` turns a workbook (sheets survey, choices, settings) into a definition for
the importer; everything it cannot map is reported by sheet, row and column, never
dropped silently (`xlsform_writer` writes the other way). Workbooks are checked before
openpyxl opens them: size, a real zip, and the uncompressed size (a zip bomb is refused,
not unpacked).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from peiling.i18n import RESPONDENT_LANGUAGES
from peiling.surveys.importer import DefinitionError

MAX_UPLOAD = 2 * 1024 * 1024  # bytes of .xlsx
MAX_UNPACKED = 20 * 1024 * 1024  # bytes once unzipped
MAX_ROWS = 2000

TYPES = {
    "integer": "number",
    "decimal": "number",
    "range": "number",
    "text": "short_text",
}
YES = {"yes", "true", "true()", "1", "ja"}
TEXT_COLUMN_RE = re.compile(
    r"^(label|hint|form_title|peiling_introduction|peiling_privacy_statement)(?:::(.+))?$"
)
# Survey texts on the settings sheet: XLSForm's form_title, and Peiling's own two.
SETTINGS_TEXTS = {
    "form_title": "title",
    "peiling_introduction": "introduction",
    "peiling_privacy_statement": "privacy_statement",
}
LANGUAGE_NAMES = {"nederlands": "nl", "dutch": "nl", "english": "en", "engels": "en"}
EQUALS_RE = re.compile(r"^\$\{(\w+)\}\s*(=|!=)\s*'([^']*)'$")
SELECTED_RE = re.compile(r"^(not\()?\s*selected\(\s*\$\{(\w+)\}\s*,\s*'([^']*)'\s*\)\s*(\))?$")
BOUND_RE = re.compile(r"^\.\s*(>=|<=|>|<)\s*(-?\d+(?:[.,]\d+)?)$")


class Sheet:
    """Rows of one sheet as dicts keyed by lower-case header, with their row numbers."""

    def __init__(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        self.name = name
        header = [str(c).strip() if c is not None else "" for c in (rows[0] if rows else ())]
        self.columns = {h.lower(): i for i, h in enumerate(header) if h}
        self.letters = {h.lower(): _letter(i) for i, h in enumerate(header) if h}
        self.rows = rows[1:]

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        for number, row in enumerate(self.rows, start=2):
            record = {
                key: str(row[i]).strip() if i < len(row) and row[i] is not None else ""
                for key, i in self.columns.items()
            }
            if any(record.values()):
                yield number, record

    def where(self, row: int, column: str) -> str:
        return _(
            "blad '%(sheet)s', rij %(row)d, kolom %(column)s",
            sheet=self.name,
            row=row,
            column=self.letters.get(column, column),
        )


def _at(where: str, message: str) -> str:
    """A problem as the importer reports it: where, then what."""
    return f"{where}: {message}"


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _open(content: bytes) -> dict[str, Sheet]:
    if not content:
        raise DefinitionError([_("het bestand is leeg")])
    if len(content) > MAX_UPLOAD:
        megabytes = MAX_UPLOAD // (1024 * 1024)
        raise DefinitionError([_("het bestand is groter dan %(mb)d MB", mb=megabytes)])
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise DefinitionError(
                [_("het bestand wordt uitgepakt te groot; is het wel een XLSForm?")]
            )
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        if isinstance(exc, DefinitionError):
            raise
        raise DefinitionError([_("dit is geen geldig Excel-bestand (.xlsx)")]) from exc
    sheets = {}
    for ws in book.worksheets:
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(row)
            if len(rows) > MAX_ROWS:
                limit = _(
                    "blad '%(sheet)s' heeft meer dan %(rows)d rijen", sheet=ws.title, rows=MAX_ROWS
                )
                raise DefinitionError([limit])
        sheets[ws.title.strip().lower()] = Sheet(ws.title, rows)
    book.close()
    return sheets


class Texts:
    """A sheet's text columns per language: `label`, `hint` and `form_title`, each plain or
    with a language (`label::English (en)`). Dutch is the questionnaire's own language;
    columns of languages Peiling cannot offer are reported, not dropped."""

    def __init__(self, sheet: Sheet, problems: list[str]) -> None:
        self.columns: dict[str, dict[str | None, str]] = {}
        for column in sheet.columns:
            match = TEXT_COLUMN_RE.match(column)
            if not match:
                continue
            lang = _language(match.group(2))
            if lang is not None and lang not in RESPONDENT_LANGUAGES:
                offered = ", ".join(RESPONDENT_LANGUAGES)
                where = _(
                    "blad '%(sheet)s', kolom %(column)s",
                    sheet=sheet.name,
                    column=sheet.letters[column],
                )
                message = _(
                    "taal '%(language)s' kan Peiling niet aanbieden (wel: %(offered)s)",
                    language=match.group(2),
                    offered=offered,
                )
                problems.append(_at(where, message))
                continue
            self.columns.setdefault(match.group(1), {})[lang] = column

    def dutch(self, record: dict[str, str], field: str) -> str:
        """The Dutch text (or, without a Dutch column, the plain or the only one)."""
        columns = self.columns.get(field, {})
        column = columns.get("nl") or columns.get(None) or next(iter(columns.values()), None)
        return record.get(column, "") if column else ""

    def translations(self, record: dict[str, str], keys: dict[str, str]) -> dict[str, Any]:
        """{"en": {"text": ..., "help": ...}} from the other languages' columns, where
        `keys` maps a column (label, hint) onto the definition's name for it."""
        found: dict[str, dict[str, str]] = {}
        for field, key in keys.items():
            for lang, column in self.columns.get(field, {}).items():
                if lang not in (None, "nl") and record.get(column):
                    found.setdefault(lang, {})[key] = record[column]
        return found


def _language(suffix: str | None) -> str | None:
    """The language code of a column suffix: `English (en)`, `en`, `Nederlands`."""
    if suffix is None:
        return None
    text = suffix.strip().lower()
    code = re.search(r"\(([a-z]{2,3})(?:[-_][a-z0-9]+)?\)$", text)
    if code:
        return code.group(1)
    return LANGUAGE_NAMES.get(text, text)


def _translated(item: dict[str, Any], found: dict[str, Any], languages: set[str]) -> None:
    if found:
        item["translations"] = found
        languages.update(found)


def read_xlsform(content: bytes, filename: str = "") -> dict[str, Any]:
    """A definition for the importer from an XLSForm workbook; raises DefinitionError."""
    sheets = _open(content)
    problems: list[str] = []
    if "survey" not in sheets:
        raise DefinitionError([_("het blad 'survey' ontbreekt")])
    survey_sheet = sheets["survey"]
    settings_sheet = sheets.get("settings")
    settings = next((r for _row, r in settings_sheet.records()), {}) if settings_sheet else {}
    languages: set[str] = set()
    choices = _read_choices(sheets.get("choices"), problems, languages)
    texts = Texts(survey_sheet, problems)
    pages: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_group = False
    known: dict[str, str] = {}
    for row, record in survey_sheet.records():
        kind = record.get("type", "")
        where = survey_sheet.where(row, "type")
        words = kind.split()
        if not words:
            problems.append(_at(where, _("type ontbreekt")))
            continue
        if words[0] in ("begin_group", "begin"):
            current = {"title": texts.dutch(record, "label"), "questions": []}
            _translated(current, texts.translations(record, {"label": "title"}), languages)
            pages.append(current)
            in_group = True
            continue
        if words[0] in ("end_group", "end"):
            current, in_group = None, False
            continue
        question = _question(survey_sheet, row, record, words, texts, choices, known, problems)
        if question is None:
            continue
        _translated(
            question, texts.translations(record, {"label": "text", "hint": "help"}), languages
        )
        known[question["code"]] = question["type"]
        if current is None or (not in_group and current.get("_loose") is not True):
            current = {"questions": [], "_loose": True}
            pages.append(current)
        current["questions"].append(question)
    for page in pages:
        page.pop("_loose", None)
        if not page.get("title"):
            page.pop("title", None)
    pages = [p for p in pages if p["questions"]]
    data = _settings(settings_sheet, settings, filename, problems, languages)
    if problems:
        raise DefinitionError(problems)
    if languages:
        data["languages"] = ["nl", *(c for c in RESPONDENT_LANGUAGES if c in languages)]
    data["pages"] = pages
    return data


def _settings(
    sheet: Sheet | None,
    settings: dict[str, str],
    filename: str,
    problems: list[str],
    languages: set[str],
) -> dict[str, Any]:
    """The survey's own fields from the settings sheet (form_id, form_title, region)."""
    slug = settings.get("form_id") or re.sub(r"\.xlsx$", "", filename.lower())
    slug = re.sub(r"[^a-z0-9-]+", "-", slug.lower()).strip("-")
    texts = Texts(sheet, problems) if sheet else None
    data: dict[str, Any] = {
        "slug": slug,
        "title": (texts.dutch(settings, "form_title") if texts else "") or slug,
        "kind": "flash_poll",
        "status": "draft",
        "region": settings.get("peiling_region") or "drenthe",
    }
    if texts:
        for column, key in list(SETTINGS_TEXTS.items())[1:]:
            if texts.dutch(settings, column):
                data[key] = texts.dutch(settings, column)
        _translated(data, texts.translations(settings, SETTINGS_TEXTS), languages)
    return data


def _read_choices(
    sheet: Sheet | None, problems: list[str], languages: set[str]
) -> dict[str, list[dict[str, Any]]]:
    lists: dict[str, list[dict[str, Any]]] = {}
    if sheet is None:
        return lists
    texts = Texts(sheet, problems)
    for row, record in sheet.records():
        list_name, name = record.get("list_name", ""), record.get("name", "")
        if not list_name or not name:
            problems.append(_at(sheet.where(row, "list_name"), _("list_name en name zijn nodig")))
            continue
        option: dict[str, Any] = {"code": name, "label": texts.dutch(record, "label") or name}
        _translated(option, texts.translations(record, {"label": "label"}), languages)
        lists.setdefault(list_name, []).append(option)
    return lists


def _question(
    sheet: Sheet,
    row: int,
    record: dict[str, str],
    words: list[str],
    texts: Texts,
    choices: dict[str, list[dict[str, Any]]],
    known: dict[str, str],
    problems: list[str],
) -> dict[str, Any] | None:
    question: dict[str, Any] = {
        "code": record.get("name", ""),
        "text": texts.dutch(record, "label"),
    }
    problem = _type_of(sheet, row, record, words, choices, question)
    if problem:
        problems.append(problem)
        return None
    hint = texts.dutch(record, "hint")
    if hint:
        question["help"] = hint
    if record.get("required", "").lower() in YES:
        question["required"] = True
    if record.get("constraint"):
        _constraint(sheet, row, record["constraint"], question, problems)
    if record.get("relevant"):
        condition = _relevant(record["relevant"], known)
        if condition is None:
            message = _(
                "de voorwaarde '%(condition)s' kan Peiling niet overnemen "
                "(wel: ${vraag} = 'x', selected(${vraag}, 'x'), or, not)",
                condition=record["relevant"],
            )
            problems.append(_at(sheet.where(row, "relevant"), message))
        else:
            question["show_if"] = condition
    for column in UNSUPPORTED_COLUMNS:
        if record.get(column):
            message = _("kolom '%(column)s' kan Peiling niet overnemen", column=column)
            problems.append(_at(sheet.where(row, column), message))
    return question


UNSUPPORTED_COLUMNS = ("choice_filter", "calculation", "repeat_count", "default", "read_only")
# Peiling's own types have no XLSForm equivalent; they travel as `peiling_<type>` so that an
# exported workbook reads back to the same questionnaire.
OWN_TYPES = {"yes_no", "agree_scale", "grade", "age", "municipality", "volunteer"}


def _type_of(
    sheet: Sheet,
    row: int,
    record: dict[str, str],
    words: list[str],
    choices: dict[str, list[dict[str, Any]]],
    question: dict[str, Any],
) -> str | None:
    """Fill in the question's type (and options); return a problem instead when it cannot."""
    kind, where = words[0], sheet.where(row, "type")
    listed = words[1] if len(words) > 1 else ""
    if kind in ("select_one", "select_multiple") or kind == "peiling_volunteer" and listed:
        if listed not in choices:
            return _at(where, _("keuzelijst '%(list)s' staat niet op blad 'choices'", list=listed))
        question["options"] = [dict(option) for option in choices[listed]]
    if kind in ("select_one", "select_multiple"):
        question["type"] = "single_choice" if kind == "select_one" else "multiple_choice"
        if "or_other" in words[2:]:
            question["other"] = True
    elif kind in TYPES:
        question["type"] = TYPES[kind]
        if kind == "decimal":
            question["decimal"] = True
        if kind == "text" and "multiline" in record.get("appearance", ""):
            question["type"] = "long_text"
        if kind == "range":
            return _range(sheet, row, record, question)
    elif kind.startswith("peiling_") and kind[8:] in OWN_TYPES:
        question["type"] = kind[8:]
    else:
        message = _(
            "type '%(type)s' kan Peiling niet overnemen (wel: select_one, select_multiple, "
            "integer, decimal, range, text, begin_group en end_group)",
            type=kind,
        )
        return _at(where, message)
    return None


def _range(sheet: Sheet, row: int, record: dict[str, str], q: dict[str, Any]) -> str | None:
    params = dict(p.split("=", 1) for p in record.get("parameters", "").split() if "=" in p)
    for source, target in (("start", "min"), ("end", "max")):
        if source in params:
            try:
                q[target] = float(params[source])
            except ValueError:
                message = _("'%(parameter)s' is geen getal", parameter=source)
                return _at(sheet.where(row, "parameters"), message)
    return None


# At most 9 digits: int() refuses more than 4,300, and no count or length needs 10.
COUNT_RE = re.compile(r"^count-selected\(\s*\.\s*\)\s*<=\s*(\d{1,9})$")
LENGTH_RE = re.compile(r"^string-length\(\s*\.\s*\)\s*<=\s*(\d{1,9})$")


def _constraint(sheet: Sheet, row: int, text: str, q: dict[str, Any], problems: list[str]) -> None:
    """Numeric bounds, a maximum number of picks and a maximum length; nothing else."""
    for part in (p.strip() for p in re.split(r"\s+and\s+", text.strip())):
        bound, count, length = BOUND_RE.match(part), COUNT_RE.match(part), LENGTH_RE.match(part)
        if bound and q.get("type") == "number":
            number = float(bound.group(2).replace(",", "."))
            q["min" if bound.group(1).startswith(">") else "max"] = number
        elif count and q.get("type") == "multiple_choice":
            q["max_choices"] = int(count.group(1))
        elif length and q.get("type") in ("short_text", "long_text"):
            q["max_length"] = int(length.group(1))
        else:
            message = _(
                "'%(part)s' kan Peiling niet overnemen (wel: grenzen van een getal, "
                "count-selected(.) <= n, string-length(.) <= n)",
                part=part,
            )
            problems.append(_at(sheet.where(row, "constraint"), message))


def _relevant(text: str, known: dict[str, str]) -> dict[str, Any] | None:
    """Map the subset of XPath that fits a Peiling condition on one earlier question."""
    parts = [p.strip() for p in re.split(r"\s+or\s+", text.strip())]
    conditions = [_one_relevant(p) for p in parts]
    if any(c is None for c in conditions) or re.search(r"\sand\s", text):
        return None
    questions = {c[0] for c in conditions}  # type: ignore[index]
    ops = {c[1] for c in conditions}  # type: ignore[index]
    if len(questions) != 1 or len(ops) != 1 or next(iter(questions)) not in known:
        return None
    question, op = next(iter(questions)), next(iter(ops))
    values = [c[2] for c in conditions]  # type: ignore[index]
    if op == "not":
        return {"question": question, "op": "not", "values": values}
    return {"question": question, "op": "equals" if len(values) == 1 else "in", "values": values}


def _one_relevant(text: str) -> tuple[str, str, str] | None:
    match = EQUALS_RE.match(text)
    if match:
        return match.group(1), "equals" if match.group(2) == "=" else "not", match.group(3)
    match = SELECTED_RE.match(text)
    if match and bool(match.group(1)) == bool(match.group(4)):
        return match.group(2), "not" if match.group(1) else "equals", match.group(3)
    return None
