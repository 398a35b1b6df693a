"""Translating a questionnaire in the designer: every Dutch text beside a field for its
translation, saved through apply_definition like any other edit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from peiling.auth.access import roles_required
from peiling.designer import bp
from peiling.designer.editor import _apply, _loaded
from peiling.designer.views import DESIGNERS
from peiling.i18n import RESPONDENT_LANGUAGES
from peiling.surveys.translation import FIELDS, SOURCE


@dataclass(frozen=True)
class Entry:
    """One text to translate: its form field, what it is, the Dutch and the translation."""

    name: str
    label: str
    dutch: str
    translated: str
    multiline: bool = False
    limit: int = 2000


@dataclass
class Group:
    heading: str
    entries: list[Entry] = field(default_factory=list)


SURVEY_LABELS = {
    "title": _l("Titel"),
    "introduction": _l("Inleiding"),
    "privacy_statement": _l("Privacyverklaring"),
}


def _own(item: Mapping[str, Any], lang: str, key: str) -> str:
    return str(item.get("translations", {}).get(lang, {}).get(key, ""))


def entries(data: Mapping[str, Any], lang: str) -> list[Group]:
    """Every Dutch text of the definition `data` with its translation into `lang`."""
    survey = Group(_("Vragenlijst"))
    for key, label in SURVEY_LABELS.items():
        if data.get(key):
            survey.entries.append(
                Entry(
                    f"survey.{key}",
                    str(label),
                    data[key],
                    _own(data, lang, key),
                    multiline=key != "title",
                    limit=FIELDS["survey"][key],
                )
            )
    groups = [survey]
    for n, page in enumerate(data["pages"]):
        group = Group(_("Pagina %(num)d", num=n + 1))
        if page.get("title"):
            group.entries.append(
                Entry(
                    f"page.{n}.title",
                    _("Titel van de pagina"),
                    page["title"],
                    _own(page, lang, "title"),
                    limit=FIELDS["page"]["title"],
                )  # fmt: skip
            )
        for q in page["questions"]:
            group.entries += _question_entries(q, lang)
        groups.append(group)
    return groups


def _question_entries(q: Mapping[str, Any], lang: str) -> list[Entry]:
    code = q["code"]
    found = [
        Entry(
            f"q.{code}.text",
            _("Vraag ‘%(code)s’", code=code),
            q["text"],
            _own(q, lang, "text"),
            multiline=len(q["text"]) > 80,
        )  # fmt: skip
    ]
    if q.get("help"):
        found.append(
            Entry(
                f"q.{code}.help",
                _("Toelichting bij ‘%(code)s’", code=code),
                q["help"],
                _own(q, lang, "help"),
            )  # fmt: skip
        )
    for option in q.get("options", []):
        found.append(
            Entry(
                f"o.{code}.{option['code']}.label",
                _("Antwoord ‘%(option)s’ bij ‘%(code)s’", option=option["code"], code=code),
                option["label"],
                _own(option, lang, "label"),
                limit=FIELDS["option"]["label"],
            )
        )
    return found


def _put(item: dict[str, Any], lang: str, key: str, text: str) -> None:
    """Set (or, when `text` is empty, remove) one translated text of a definition item."""
    translations = item.setdefault("translations", {})
    texts = translations.setdefault(lang, {})
    if text.strip():
        texts[key] = text.strip()
    else:
        texts.pop(key, None)
    if not texts:
        translations.pop(lang)
    if not translations:
        item.pop("translations")


def apply_form(
    data: dict[str, Any], lang: str, form: Mapping[str, str], offer: bool
) -> dict[str, Any]:
    """The definition `data` with the translations into `lang` posted in `form`."""
    for key in SURVEY_LABELS:
        if f"survey.{key}" in form:
            _put(data, lang, key, form[f"survey.{key}"])
    for n, page in enumerate(data["pages"]):
        if f"page.{n}.title" in form:
            _put(page, lang, "title", form[f"page.{n}.title"])
        for q in page["questions"]:
            for key in ("text", "help"):
                if f"q.{q['code']}.{key}" in form:
                    _put(q, lang, key, form[f"q.{q['code']}.{key}"])
            for option in q.get("options", []):
                name = f"o.{q['code']}.{option['code']}.label"
                if name in form:
                    _put(option, lang, "label", form[name])
    languages = [code for code in data.get("languages", [SOURCE]) if code != lang]
    data["languages"] = languages + [lang] if offer else languages
    return data


def progress(groups: list[Group]) -> tuple[int, int]:
    """(translated, all) texts."""
    every = [e for g in groups for e in g.entries]
    return sum(1 for e in every if e.translated), len(every)


@bp.route("/<slug>/vertaling/<lang>", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def translation(slug: str, lang: str) -> ResponseReturnValue:
    if lang == SOURCE or lang not in RESPONDENT_LANGUAGES:
        abort(404)
    survey, data = _loaded(slug)
    if request.method == "POST":
        offer = bool(request.form.get("aanbieden"))
        changed = apply_form(data, lang, request.form, offer)
        if _apply(survey, changed):
            flash(_("De vertaling is bewaard."))
            return redirect(url_for(".translation", slug=slug, lang=lang))
        data = changed  # refused: show what was typed, with the reasons above it
    groups = entries(data, lang)
    done, total = progress(groups)
    return render_template(
        "designer/translation.html",
        survey=survey,
        lang=lang,
        language=RESPONDENT_LANGUAGES[lang],
        groups=groups,
        offered=lang in (data.get("languages") or []),
        done=done,
        total=total,
    ), (200 if request.method == "GET" else 422)
