"""Edits to a questionnaire's definition dict (the importer's JSON format).

The designer's pages turn each action into one of these plain functions and hand the
result to services.apply_definition, which validates and stores it: every rule about
types, options and conditions lives in the importer, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Definition = dict[str, Any]

SETTING_FIELDS = ("max_choices", "min", "max", "max_length")


def find(data: Definition, code: str) -> tuple[int, int]:
    """(page index, question index) of question `code`; KeyError when there is none."""
    for p, page in enumerate(data["pages"]):
        for q, question in enumerate(page["questions"]):
            if question["code"] == code:
                return p, q
    raise KeyError(code)


def add_page(data: Definition, title: str = "") -> None:
    # A page needs a question; the designer adds a first one to fill in right away.
    data["pages"].append(
        {"title": title, "questions": [{"code": _free_code(data), "type": "short_text",
                                        "text": "Nieuwe vraag"}]}
    )  # fmt: skip


def _free_code(data: Definition, stem: str = "vraag") -> str:
    taken = {q["code"] for page in data["pages"] for q in page["questions"]}
    n = 1
    while f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


def add_question(data: Definition, page: int, question: Definition) -> None:
    data["pages"][page]["questions"].append(question)


def remove_question(data: Definition, code: str) -> None:
    p, q = find(data, code)
    del data["pages"][p]["questions"][q]
    if not data["pages"][p]["questions"]:
        del data["pages"][p]  # an empty page cannot stay


def move_question(data: Definition, code: str, step: int) -> None:
    """Move one place up (-1) or down (+1), onto the neighbouring page at a page's edge."""
    p, q = find(data, code)
    questions = data["pages"][p]["questions"]
    target = q + step
    if 0 <= target < len(questions):
        questions[q], questions[target] = questions[target], questions[q]
        return
    neighbour = p + step
    if not 0 <= neighbour < len(data["pages"]) or len(questions) == 1:
        return  # already first or last, or it would leave an empty page
    moved = questions.pop(q)
    if step < 0:
        data["pages"][neighbour]["questions"].append(moved)
    else:
        data["pages"][neighbour]["questions"].insert(0, moved)


def replace_question(data: Definition, code: str, question: Definition) -> None:
    p, q = find(data, code)
    data["pages"][p]["questions"][q] = question


def question_from_fields(fields: Mapping[str, str], code: str, qtype: str) -> Definition:
    """A question definition from the designer's form fields (validated later)."""
    question: Definition = {"code": code, "type": qtype, "text": fields.get("text", "").strip()}
    if fields.get("help", "").strip():
        question["help"] = fields["help"].strip()
    if fields.get("required"):
        question["required"] = True
    options = parse_options(fields.get("options", ""))
    if options:
        question["options"] = options
    if fields.get("other"):
        question["other"] = True
    if fields.get("decimal"):
        question["decimal"] = True
    for key in SETTING_FIELDS:
        value = fields.get(key, "").strip().replace(",", ".")
        if value:
            question[key] = float(value) if _is_number(value) else value
    source = fields.get("show_if_question", "").strip()
    if source:
        values = [v.strip() for v in fields.get("show_if_values", "").split(",") if v.strip()]
        op = fields.get("show_if_op", "equals")
        question["show_if"] = {"question": source, "op": op, "values": values}
    return question


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_options(text: str) -> list[dict[str, str]]:
    """Options from lines `code = label` (a line without `=` gets a code made from it)."""
    options = []
    for line in text.splitlines():
        if not line.strip():
            continue
        code, sep, label = line.partition("=")
        if not sep:
            label, code = line, _code_from(line)
        options.append({"code": code.strip(), "label": label.strip()})
    return options


def _code_from(label: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in label.strip().lower())
    return "_".join(part for part in cleaned.split("_") if part)[:64] or "optie"


def options_text(question: Definition) -> str:
    return "\n".join(f"{o['code']} = {o['label']}" for o in question.get("options", []))
