"""XLSForm (ODK, KoboToolbox) to and from Peiling's JSON definition.

`read_xlsform` turns a workbook (sheets survey, choices, settings) into a definition for
the importer; everything it cannot map is reported by sheet, row and column, never
dropped silently. `write_xlsform` writes a definition as a workbook that reads back to the
same questionnaire. Workbooks are checked before openpyxl opens them: size, a real zip,
and the uncompressed size (a zip bomb is refused, not unpacked).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

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
LANGUAGE_RE = re.compile(r"^label(?:::(.+))?$")
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
        return f"blad '{self.name}', rij {row}, kolom {self.letters.get(column, column)}"


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _open(content: bytes) -> dict[str, Sheet]:
    if not content:
        raise DefinitionError(["het bestand is leeg"])
    if len(content) > MAX_UPLOAD:
        raise DefinitionError([f"het bestand is groter dan {MAX_UPLOAD // (1024 * 1024)} MB"])
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise DefinitionError(["het bestand wordt uitgepakt te groot; is het wel een XLSForm?"])
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        if isinstance(exc, DefinitionError):
            raise
        raise DefinitionError(["dit is geen geldig Excel-bestand (.xlsx)"]) from exc
    sheets = {}
    for ws in book.worksheets:
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise DefinitionError([f"blad '{ws.title}' heeft meer dan {MAX_ROWS} rijen"])
        sheets[ws.title.strip().lower()] = Sheet(ws.title, rows)
    book.close()
    return sheets


def _label_columns(sheet: Sheet) -> tuple[str | None, str | None]:
    """The Dutch label column (or the only one) and the English one, if any."""
    labels = {}
    for column in sheet.columns:
        match = LANGUAGE_RE.match(column)
        if match:
            labels[(match.group(1) or "").strip()] = column
    dutch = next(
        (c for lang, c in labels.items() if "(nl)" in lang or lang in ("nl", "nederlands")), None
    )
    english = next(
        (c for lang, c in labels.items() if "(en)" in lang or lang in ("en", "english")), None
    )
    return dutch or labels.get("") or next(iter(labels.values()), None), english


def read_xlsform(content: bytes, filename: str = "") -> dict[str, Any]:
    """A definition for the importer from an XLSForm workbook; raises DefinitionError."""
    sheets = _open(content)
    problems: list[str] = []
    if "survey" not in sheets:
        raise DefinitionError(["het blad 'survey' ontbreekt"])
    survey_sheet = sheets["survey"]
    settings = (
        next((r for _, r in sheets["settings"].records()), {}) if "settings" in sheets else {}
    )
    choices = _read_choices(sheets.get("choices"), problems)
    label_col, _english = _label_columns(survey_sheet)
    pages: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_group = False
    known: dict[str, str] = {}
    for row, record in survey_sheet.records():
        kind = record.get("type", "")
        where = survey_sheet.where(row, "type")
        words = kind.split()
        if not words:
            problems.append(f"{where}: type ontbreekt")
            continue
        if words[0] in ("begin_group", "begin"):
            current = {"title": record.get(label_col or "", ""), "questions": []}
            pages.append(current)
            in_group = True
            continue
        if words[0] in ("end_group", "end"):
            current, in_group = None, False
            continue
        question = _question(survey_sheet, row, record, words, label_col, choices, known, problems)
        if question is None:
            continue
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
    if problems:
        raise DefinitionError(problems)
    slug = settings.get("form_id") or re.sub(r"\.xlsx$", "", filename.lower())
    slug = re.sub(r"[^a-z0-9-]+", "-", slug.lower()).strip("-")
    return {
        "slug": slug,
        "title": settings.get("form_title") or slug,
        "kind": "flash_poll",
        "status": "draft",
        "region": settings.get("peiling_region") or "drenthe",
        "pages": pages,
    }


def _read_choices(sheet: Sheet | None, problems: list[str]) -> dict[str, list[dict[str, str]]]:
    lists: dict[str, list[dict[str, str]]] = {}
    if sheet is None:
        return lists
    label_col, _ = _label_columns(sheet)
    for row, record in sheet.records():
        list_name, name = record.get("list_name", ""), record.get("name", "")
        if not list_name or not name:
            problems.append(f"{sheet.where(row, 'list_name')}: list_name en name zijn nodig")
            continue
        label = record.get(label_col or "", "") or name
        lists.setdefault(list_name, []).append({"code": name, "label": label})
    return lists


def _question(
    sheet: Sheet,
    row: int,
    record: dict[str, str],
    words: list[str],
    label_col: str | None,
    choices: dict[str, list[dict[str, str]]],
    known: dict[str, str],
    problems: list[str],
) -> dict[str, Any] | None:
    question: dict[str, Any] = {
        "code": record.get("name", ""),
        "text": record.get(label_col or "", ""),
    }
    problem = _type_of(sheet, row, record, words, choices, question)
    if problem:
        problems.append(problem)
        return None
    if record.get("hint"):
        question["help"] = record["hint"]
    if record.get("required", "").lower() in YES:
        question["required"] = True
    if record.get("constraint"):
        _constraint(sheet, row, record["constraint"], question, problems)
    if record.get("relevant"):
        condition = _relevant(record["relevant"], known)
        if condition is None:
            problems.append(
                f"{sheet.where(row, 'relevant')}: de voorwaarde '{record['relevant']}' kan "
                "Peiling niet overnemen (wel: ${vraag} = 'x', selected(${vraag}, 'x'), or, not)"
            )
        else:
            question["show_if"] = condition
    for column in UNSUPPORTED_COLUMNS:
        if record.get(column):
            problems.append(
                f"{sheet.where(row, column)}: kolom '{column}' kan Peiling niet overnemen"
            )
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
    choices: dict[str, list[dict[str, str]]],
    question: dict[str, Any],
) -> str | None:
    """Fill in the question's type (and options); return a problem instead when it cannot."""
    kind, where = words[0], sheet.where(row, "type")
    listed = words[1] if len(words) > 1 else ""
    if kind in ("select_one", "select_multiple") or kind == "peiling_volunteer" and listed:
        if listed not in choices:
            return f"{where}: keuzelijst '{listed}' staat niet op blad 'choices'"
        question["options"] = list(choices[listed])
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
        return (
            f"{where}: type '{kind}' kan Peiling niet overnemen (wel: select_one, "
            "select_multiple, integer, decimal, range, text, begin_group en end_group)"
        )
    return None


def _range(sheet: Sheet, row: int, record: dict[str, str], q: dict[str, Any]) -> str | None:
    params = dict(p.split("=", 1) for p in record.get("parameters", "").split() if "=" in p)
    for source, target in (("start", "min"), ("end", "max")):
        if source in params:
            try:
                q[target] = float(params[source])
            except ValueError:
                return f"{sheet.where(row, 'parameters')}: '{source}' is geen getal"
    return None


COUNT_RE = re.compile(r"^count-selected\(\s*\.\s*\)\s*<=\s*(\d+)$")
LENGTH_RE = re.compile(r"^string-length\(\s*\.\s*\)\s*<=\s*(\d+)$")


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
            problems.append(
                f"{sheet.where(row, 'constraint')}: '{part}' kan Peiling niet overnemen (wel: "
                "grenzen van een getal, count-selected(.) <= n, string-length(.) <= n)"
            )


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


def write_xlsform(data: dict[str, Any]) -> bytes:
    """An XLSForm workbook of a definition (`export_definition`)."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(
        [
            "type",
            "name",
            "label",
            "hint",
            "required",
            "relevant",
            "constraint",
            "appearance",
            "parameters",
        ]
    )
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for n, page in enumerate(data["pages"], start=1):
        survey.append(["begin_group", f"pagina_{n}", page.get("title", "")])
        for q in page["questions"]:
            survey.append(_row(q, choices))
        survey.append(["end_group", f"pagina_{n}"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title", "peiling_region"])
    settings.append([data["slug"], data["title"], data["region"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row(q: dict[str, Any], choices: Any) -> list[Any]:
    qtype, appearance, parameters, constraint = q["type"], "", "", ""
    if qtype in ("single_choice", "multiple_choice"):
        kind = ("select_one " if qtype == "single_choice" else "select_multiple ") + q["code"]
        if q.get("other"):
            kind += " or_other"
        for option in q.get("options", []):
            choices.append([q["code"], option["code"], option["label"]])
        if q.get("max_choices"):
            constraint = f"count-selected(.) <= {q['max_choices']}"
    elif qtype == "number":
        kind = "decimal" if q.get("decimal") else "integer"
        bounds = [
            f". >= {q['min']}" if "min" in q else "",
            f". <= {q['max']}" if "max" in q else "",
        ]
        constraint = " and ".join(b for b in bounds if b)
    elif qtype in ("short_text", "long_text"):
        kind = "text"
        appearance = "multiline" if qtype == "long_text" else ""
        if q.get("max_length"):
            constraint = f"string-length(.) <= {q['max_length']}"
    else:
        kind = f"peiling_{qtype}"  # Peiling's own type; read back by read_xlsform
        if q.get("options"):
            kind += " " + q["code"]
            for option in q["options"]:
                choices.append([q["code"], option["code"], option["label"]])
    cond = q.get("show_if")
    relevant = ""
    if cond:
        joiner = " or "
        if cond["op"] == "not":
            relevant = " or ".join(f"${{{cond['question']}}} != '{v}'" for v in cond["values"])
        else:
            relevant = joiner.join(
                f"selected(${{{cond['question']}}}, '{v}')" for v in cond["values"]
            )
    return [
        kind, q["code"], q["text"], q.get("help", ""), "yes" if q.get("required") else "",
        relevant, constraint, appearance, parameters,
    ]  # fmt: skip
