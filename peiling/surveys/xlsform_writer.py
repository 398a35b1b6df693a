"""Writing a questionnaire definition as an XLSForm workbook that `xlsform.read_xlsform`
reads back to the same questionnaire: one label (and hint) column per language, Peiling's
own types as `peiling_<type>`, and the survey's texts on the settings sheet."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from peiling.i18n import RESPONDENT_LANGUAGES
from peiling.surveys.xlsform import SETTINGS_TEXTS


def _column(field: str, lang: str, translated: bool) -> str:
    """`label` for a Dutch-only form, else `label::Nederlands (nl)`, `label::English (en)`."""
    if not translated:
        return field
    return f"{field}::{RESPONDENT_LANGUAGES[lang]} ({lang})"


class _Writer:
    """Rows for the survey and choices sheets, with a label (and hint) column per language."""

    def __init__(self, languages: list[str]) -> None:
        self.languages = languages
        translated = len(languages) > 1
        self.label = {lang: _column("label", lang, translated) for lang in languages}
        self.hint = {lang: _column("hint", lang, translated) for lang in languages}
        self.settings = {
            field: {lang: _column(field, lang, translated) for lang in languages}
            for field in SETTINGS_TEXTS
        }
        self.survey_header = [
            "type",
            "name",
            *self.label.values(),
            *self.hint.values(),
            "required",
            "relevant",
            "constraint",
            "appearance",
            "parameters",
        ]
        self.choice_header = ["list_name", "name", *self.label.values()]

    def texts(self, item: dict[str, Any], columns: dict[str, str], key: str) -> dict[str, str]:
        found = {columns["nl"]: item.get(key, "")}
        for lang in self.languages[1:]:
            found[columns[lang]] = item.get("translations", {}).get(lang, {}).get(key, "")
        return found

    def survey_row(self, values: dict[str, Any]) -> list[Any]:
        return [values.get(column, "") for column in self.survey_header]

    def choice_row(self, list_name: str, option: dict[str, Any]) -> list[Any]:
        values = {"list_name": list_name, "name": option["code"]}
        values |= self.texts(option, self.label, "label")
        return [values.get(column, "") for column in self.choice_header]


def _append(sheet: Any, values: list[Any]) -> None:
    """Add a row whose texts stay text: openpyxl would store "=1+2" as a formula."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def write_xlsform(data: dict[str, Any]) -> bytes:
    """An XLSForm workbook of a definition (`export_definition`)."""
    writer = _Writer(list(data.get("languages") or ["nl"]))
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    _append(survey, writer.survey_header)
    choices = book.create_sheet("choices")
    _append(choices, writer.choice_header)
    for n, page in enumerate(data["pages"], start=1):
        group = {"type": "begin_group", "name": f"pagina_{n}"}
        _append(survey, writer.survey_row(group | writer.texts(page, writer.label, "title")))
        for q in page["questions"]:
            _append(survey, writer.survey_row(_row(q, choices, writer)))
        _append(survey, writer.survey_row({"type": "end_group", "name": f"pagina_{n}"}))
    settings = book.create_sheet("settings")
    texts: dict[str, str] = {}
    for field, key in SETTINGS_TEXTS.items():
        texts |= writer.texts(data, writer.settings[field], key)
    _append(settings, ["form_id", *texts, "peiling_region"])
    _append(settings, [data["slug"], *texts.values(), data["region"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row(q: dict[str, Any], choices: Any, writer: _Writer) -> dict[str, Any]:
    qtype, appearance, constraint = q["type"], "", ""
    if qtype in ("single_choice", "multiple_choice"):
        kind = ("select_one " if qtype == "single_choice" else "select_multiple ") + q["code"]
        if q.get("other"):
            kind += " or_other"
        for option in q.get("options", []):
            _append(choices, writer.choice_row(q["code"], option))
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
                _append(choices, writer.choice_row(q["code"], option))
    cond = q.get("show_if")
    relevant = ""
    if cond:
        if cond["op"] == "not":
            relevant = " or ".join(f"${{{cond['question']}}} != '{v}'" for v in cond["values"])
        else:
            relevant = " or ".join(
                f"selected(${{{cond['question']}}}, '{v}')" for v in cond["values"]
            )
    return {
        "type": kind,
        "name": q["code"],
        **writer.texts(q, writer.label, "text"),
        **writer.texts(q, writer.hint, "help"),
        "required": "yes" if q.get("required") else "",
        "relevant": relevant,
        "constraint": constraint,
        "appearance": appearance,
    }
