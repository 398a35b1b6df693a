"""Languages: the interface catalogues (Flask-Babel) and which language a request gets.

Interface texts are written in Dutch in the code and templates (Dutch is the source
language, so the msgids are Dutch); `translations/en` holds the English catalogue and
`translations/nl` the Dutch one, which a translator may use to reword without touching code;
`translations/uk` and `translations/ar` hold only what respondents see (RESPONDENT_LANGUAGES).
Questionnaires carry their own translations (surveys.translation); a questionnaire may only
offer a language that the interface also speaks, so that every text on a respondent's page,
question or button, is in the language the page declares with `lang`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from flask import Flask, after_this_request, g, has_request_context, redirect, request
from flask_babel import Babel
from werkzeug.wrappers import Response

from peiling.web import local_path

DEFAULT = "nl"
# Languages with a complete interface catalogue, in the order a switch lists them.
LANGUAGES: dict[str, str] = {"nl": "Nederlands", "en": "English"}
# Languages a questionnaire may be answered in, each named in itself: the public form's
# texts (buttons, errors, the thank-you page: scripts/translations.py RESPONDENT_SOURCES)
# must be in the catalogue for each of them. Staff never see uk or ar, so only those texts
# are translated there.
RESPONDENT_LANGUAGES: dict[str, str] = {
    **LANGUAGES,
    "uk": "Українська",
    "ar": "العربية",
}
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})
COOKIE = "peiling_taal"
COOKIE_DAYS = 365
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def N_(text: str) -> str:  # noqa: N802 - the name pybabel looks for
    """Mark `text` for the catalogue where it is defined; translate it where it is shown."""
    return text


def supported(code: str | None) -> str | None:
    """`code` if the interface speaks it, else None."""
    return code if code in LANGUAGES else None


def preferred(offered: Sequence[str]) -> str:
    """The best of `offered` for this request: ?taal=, then the language cookie, then the
    browser's Accept-Language; the first offered language when none of them matches."""
    asked = request.args.get("taal")
    if asked in offered:
        return asked  # type: ignore[return-value]
    if len(offered) > 1 and not g.get("peiling_negotiated"):
        # The page depends on the cookie and Accept-Language: tell caches so. Only then, so
        # that other responses (the public form's POST) pass no hook for it.
        g.peiling_negotiated = True
        after_this_request(_vary)
    chosen = request.cookies.get(COOKIE)
    if chosen in offered:
        return chosen  # type: ignore[return-value]
    return request.accept_languages.best_match(offered, default=offered[0]) or offered[0]


def use(lang: str) -> None:
    """Make `lang` this request's interface language (a view that knows better, such as the
    public form with the questionnaire's own languages, calls this before rendering)."""
    from flask_babel import refresh

    g.peiling_lang = lang
    # Flask-Babel keeps the locale it chose; until it has asked select_locale() there is
    # nothing to forget (the public form's POST sets its language before any text is made).
    if g.get("peiling_locale_chosen"):
        refresh()


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    g.peiling_locale_chosen = True
    return g.get("peiling_lang") or preferred(tuple(LANGUAGES))


def current() -> str:
    """This request's language code."""
    from flask_babel import get_locale

    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT


@lru_cache(maxsize=16)
def catalogue(lang: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [lang])


def translate(msgid: str, lang: str, **variables: Any) -> str:
    """`msgid` in `lang`, whatever the request's own language (or without a request)."""
    text = catalogue(lang).ugettext(msgid)
    return text % variables if variables else text


def direction(lang: str) -> str:
    return "rtl" if lang.split("_")[0] in RIGHT_TO_LEFT else "ltr"


def switch(code: str) -> Response:
    """GET /taal/<code>?terug=/path: remember the interface language in a cookie."""
    response = redirect(local_path(request.args.get("terug")) or "/", code=303)
    if supported(code):
        response.set_cookie(
            COOKIE,
            code,
            max_age=COOKIE_DAYS * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=bool(request.environ.get("wsgi.url_scheme") == "https"),
        )
    return response


def _vary(response: Response) -> Response:
    """Tell caches that a page whose language was negotiated differs per browser."""
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    # {% trans %} blocks collapse their whitespace, as pybabel extracts them (babel.cfg).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.add_url_rule("/taal/<code>", "language", switch)

    @app.context_processor
    def language_context() -> dict[str, Any]:
        lang = current()
        return {
            "current_lang": lang,
            "text_direction": direction(lang),
            "interface_languages": LANGUAGES,
        }
