"""Questionnaire translations: which texts may be translated, checking them, picking them.

Dutch is every questionnaire's own language: its texts are the columns themselves. Other
languages live beside them, per row, as {"en": {"text": "...", "help": "..."}} — so a
translation travels with its question when questions move, are copied or are edited, and
answers never depend on a language: codes are the same in all of them. A text without a
translation falls back to Dutch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from flask_babel import gettext as _

from peiling.i18n import RESPONDENT_LANGUAGES

SOURCE = "nl"
# What may be translated, per kind of thing, with each text's length limit.
FIELDS: dict[str, dict[str, int]] = {
    "survey": {"title": 200, "introduction": 10_000, "privacy_statement": 10_000},
    "page": {"title": 200},
    "question": {"text": 2000, "help": 2000},
    "option": {"label": 500},
}

Translations = dict[str, dict[str, str]]


class Reporter(Protocol):
    def fail(self, where: str, message: str) -> None: ...


def check_languages(checker: Reporter, raw: Any) -> list[str]:
    """The questionnaire's languages, Dutch first; reports anything it cannot offer."""
    if raw is None:
        return [SOURCE]
    if not isinstance(raw, list) or not all(isinstance(code, str) for code in raw):
        checker.fail(_("vragenlijst"), _("veld 'languages' moet een lijst met taalcodes zijn"))
        return [SOURCE]
    languages = [SOURCE]
    for code in raw:
        if code not in RESPONDENT_LANGUAGES:
            offered = ", ".join(RESPONDENT_LANGUAGES)
            checker.fail(
                _("vragenlijst"),
                _(
                    "taal %(code)s wordt niet ondersteund (kies uit %(offered)s)",
                    code=repr(code),
                    offered=offered,
                ),
            )
        elif code not in languages:
            languages.append(code)
    return languages


def check(checker: Reporter, raw: Any, kind: str, where: str) -> Translations:
    """Validate the `translations` of one survey, page, question or option."""
    if raw is None:
        return {}
    fields = FIELDS[kind]
    if not isinstance(raw, dict):
        checker.fail(where, _("veld 'translations' moet per taal de vertaalde teksten geven"))
        return {}
    result: Translations = {}
    for lang, texts in raw.items():
        # A language may be translated before it is offered (`languages`): researchers
        # translate first and switch it on when the translation is complete.
        if lang == SOURCE or lang not in RESPONDENT_LANGUAGES:
            checker.fail(
                where,
                _(
                    "'translations' noemt taal %(lang)s; vertalen kan naar %(offered)s (de "
                    "Nederlandse tekst staat in de velden zelf)",
                    lang=repr(lang),
                    offered=", ".join(c for c in RESPONDENT_LANGUAGES if c != SOURCE),
                ),
            )
            continue
        if not isinstance(texts, dict):
            checker.fail(
                where,
                _("'translations' voor %(lang)s moet een object met teksten zijn", lang=repr(lang)),
            )
            continue
        kept: dict[str, str] = {}
        for key, value in texts.items():
            named = {"lang": repr(lang), "key": repr(key)}
            if key not in fields:
                allowed = ", ".join(fields)
                checker.fail(
                    where,
                    _(
                        "'translations' %(lang)s: onbekend veld %(key)s (%(allowed)s)",
                        allowed=allowed,
                        **named,
                    ),
                )
            elif not isinstance(value, str):
                checker.fail(
                    where, _("'translations' %(lang)s: veld %(key)s moet tekst zijn", **named)
                )
            elif len(value) > fields[key]:
                checker.fail(
                    where,
                    _(
                        "'translations' %(lang)s: veld %(key)s is langer dan %(limit)d tekens",
                        limit=fields[key],
                        **named,
                    ),
                )
            elif value.strip():
                kept[key] = value.strip()
        if kept:
            result[lang] = kept
    return result


def text(
    translations: Mapping[str, Mapping[str, str]] | None, lang: str, key: str, dutch: str
) -> str:
    """The text `key` in `lang`, or the Dutch one when it has no translation."""
    if lang == SOURCE or not translations:
        return dutch
    return translations.get(lang, {}).get(key) or dutch


def offered(languages: list[str] | None) -> tuple[str, ...]:
    """The languages a stored questionnaire offers, Dutch first."""
    extra = [code for code in languages or () if code != SOURCE and code in RESPONDENT_LANGUAGES]
    return (SOURCE, *extra)
