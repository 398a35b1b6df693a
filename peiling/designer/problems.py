"""A refused definition's problems as a designer form shows them: beside its own fields.

The importer names each problem's place and field the way the JSON file does ("vraag
'leeftijd': veld 'min' moet een getal zijn"); a researcher using a form knows the field by
its label ("Kleinste getal") and looks for the message beside it, as on the public form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l

from peiling.problems import FormProblems
from peiling.surveys.importer import Problem

# A definition field -> (the id of the form element that edits it, its label).
Fields = Mapping[str, tuple[str, object]]

SETTINGS_FIELDS: Fields = {
    "title": ("title", _l("Titel")),
    "introduction": ("introduction", _l("Inleiding")),
    "age_min": ("age_min", _l("Leeftijd vanaf")),
    "age_max": ("age_max", _l("Leeftijd tot en met")),
    "opens_at": ("opens_at", _l("Opent op")),
    "closes_at": ("closes_at", _l("Sluit op")),
    "privacy_statement": ("privacy_statement", _l("Privacyverklaring")),
}
QUESTION_FIELDS: Fields = {
    "type": ("type", _l("Soort vraag")),
    "text": ("text", _l("Vraag")),
    "help": ("help", _l("Uitleg onder de vraag")),
    "options": ("options", _l("Antwoordopties")),
    "other": ("other", _l("‘Anders, namelijk’")),
    "max_choices": ("max_choices", _l("Hoogstens zoveel keuzes")),
    "min": ("min", _l("Kleinste getal")),
    "max": ("max", _l("Grootste getal")),
    "max_length": ("max_length", _l("Hoogstens zoveel tekens")),
    "show_if": ("show_if_question", _l("Alleen tonen als: een eerdere vraag")),
    "show_if.op": ("show_if_op", _l("Alleen tonen als: als antwoord")),
    "show_if.values": ("show_if_values", _l("Alleen tonen als: de antwoordcodes")),
}
NEW_FIELDS: Fields = {
    "title": ("title", _l("Titel")),
    "slug": ("slug", _l("Adres")),
}


NEW_PAGE: Fields = {"title": ("new-page-title", _l("Titel van een nieuwe pagina"))}


def new_question_fields(page: int) -> Fields:
    """The fields of the editor's "new question" form on page `page` (from 0)."""
    return {
        "code": (f"code-{page}", _l("Code")),
        "text": (f"text-{page}", _l("Vraag")),
    }


def for_form(
    problems: Iterable[Problem], fields: Fields, question: str | None, page: int | None = None
) -> FormProblems:
    """Sort `problems` for a form editing `fields` of question `question`, or with no
    question, of page number `page` (from 1) or of the questionnaire itself (None). A
    problem elsewhere in the definition is listed with its place."""
    shown = FormProblems()
    for problem in problems:
        ours = problem.question == question and (question is not None or problem.page == page)
        if ours and problem.field in fields:
            element, label = fields[problem.field]
            shown.add(problem.beside_field, element, label)
        else:
            shown.add(str(problem))
    return shown
