"""A stored questionnaire as a JSON definition, the format `surveys import` reads."""

from __future__ import annotations

from typing import Any

from peiling.geo import as_utc
from peiling.surveys.importer import MAY_HAVE_OPTIONS, SETTINGS
from peiling.surveys.models import Option, Page, Question, Survey


def export_definition(survey: Survey) -> dict[str, Any]:
    """Return the definition of `survey`; importing it builds the same questionnaire."""
    data: dict[str, Any] = {
        "slug": survey.slug,
        "title": survey.title,
        "introduction": survey.introduction or "",
        "kind": survey.kind.value,
        "status": survey.status.value,
        "age_min": survey.age_min,
        "age_max": survey.age_max,
        "region": survey.region_code,
        "privacy_statement": survey.privacy_statement or "",
        "allow_multiple_responses": bool(survey.allow_multiple_responses),
    }
    if survey.languages and len(survey.languages) > 1:
        data["languages"] = list(survey.languages)
    _add_translations(data, survey.translations)
    data["pages"] = [_page(page) for page in survey.pages]
    for key in ("opens_at", "closes_at"):
        moment = getattr(survey, key)
        if moment is not None:  # with its offset, also from SQLite (which drops it)
            data[key] = as_utc(moment).isoformat()
    return data


def _page(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = {"questions": [_question(q) for q in page.questions]}
    if page.title:
        data["title"] = page.title
    if page.show_if:
        data["show_if"] = dict(page.show_if)
    _add_translations(data, page.translations)
    return data


def _question(q: Question) -> dict[str, Any]:
    data: dict[str, Any] = {"code": q.code, "type": q.type.value, "text": q.text}
    if q.help_text:
        data["help"] = q.help_text
    if q.required:
        data["required"] = True
    if q.type in MAY_HAVE_OPTIONS:
        data["options"] = [_option(o) for o in q.options if not o.is_other]
        if any(o.is_other for o in q.options):
            data["other"] = True
    for key in sorted(SETTINGS.get(q.type, ())):
        if key in (q.settings or {}):
            value = q.settings[key]
            data[key] = int(value) if isinstance(value, float) and value.is_integer() else value
    if q.show_if:
        data["show_if"] = dict(q.show_if)
    _add_translations(data, q.translations)
    return data


def _option(option: Option) -> dict[str, Any]:
    data: dict[str, Any] = {"code": option.code, "label": option.label}
    _add_translations(data, option.translations)
    return data


def _add_translations(data: dict[str, Any], translations: dict[str, Any] | None) -> None:
    if translations:
        data["translations"] = {lang: dict(texts) for lang, texts in translations.items()}
