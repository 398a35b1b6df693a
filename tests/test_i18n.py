"""Interface languages: complete, compiled and consistent catalogues; choosing a language."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.support import Translations

from peiling.i18n import LANGUAGES, RESPONDENT_LANGUAGES, TRANSLATIONS
from scripts.translations import respondent_texts

ROOT = Path(__file__).resolve().parent.parent
# Languages only respondents see (uk, ar): only their texts are translated there.
RESPONDENT_ONLY = [code for code in RESPONDENT_LANGUAGES if code not in LANGUAGES]
# The script a translation must be written in, where the Dutch text is not a loan word.
SCRIPTS = {"uk": "\u0400-\u04ff", "ar": "\u0600-\u06ff"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def marked_texts() -> set[str]:
    """Every msgid marked in the code and templates, extracted as `make translations` does."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "peiling"), method_map, options_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue(lang: str):  # type: ignore[no-untyped-def]
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def strings_of(message) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return message.string if isinstance(message.string, tuple) else (message.string,)


def untranslated(lang: str, msgids: set[str]) -> list[str]:
    po = catalogue(lang)
    missing = []
    for msgid in sorted(msgids):
        message = po.get(msgid)
        if message is None or message.fuzzy or not all(strings_of(message)):
            missing.append(msgid)
    return missing


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_marked_text_is_translated(lang: str) -> None:
    missing = untranslated(lang, marked_texts())
    assert not missing, f"{len(missing)} texts without {lang}: run `make translations`"


@pytest.mark.parametrize("lang", list(RESPONDENT_LANGUAGES))
def test_every_respondent_text_is_translated(lang: str) -> None:
    """A questionnaire may offer `lang` only if the public form speaks it entirely."""
    missing = untranslated(lang, respondent_texts())
    assert not missing, f"{len(missing)} respondent texts without {lang}: {missing[:5]}"


@pytest.mark.parametrize("lang", RESPONDENT_ONLY)
def test_respondent_translations_are_in_the_languages_own_script(lang: str) -> None:
    """Guards against Dutch or English pasted in as a translation."""
    po = catalogue(lang)
    script = re.compile(f"[{SCRIPTS[lang]}]")
    wrong = []
    for msgid in respondent_texts():
        if not re.search(r"[a-z]", PLACEHOLDER.sub("", msgid), re.IGNORECASE):
            continue  # nothing but placeholders and punctuation: ‘%(label)s’
        forms = strings_of(po[msgid])
        if not all(script.search(PLACEHOLDER.sub("", text)) for text in forms):
            wrong.append(msgid)
    assert not wrong


def test_respondent_texts_are_the_public_forms_and_nothing_else() -> None:
    texts = respondent_texts()
    assert texts <= marked_texts()
    # Buttons, checks, pages and error pages, and the importer's built-in option labels...
    assert {
        "Naar de inhoud",
        "Volgende",
        "Versturen",
        "Vul je leeftijd in.",
        "Er is nog %(num)d probleem",
        "Bedankt voor het meedoen!",
        "Deze peiling is gesloten",
        "Pagina niet gevonden",
        "Ja",
        "Helemaal oneens",
        "Niet eens, niet oneens",
        "Anders, namelijk",
    } <= texts
    # ...but not what researchers and staff see (the importer's messages, the login).
    staff = {"vragenlijst", "veld '%(key)s' ontbreekt of is leeg", "Wachtwoord"}
    assert staff <= marked_texts() and not staff & texts


@pytest.mark.parametrize("lang", list(RESPONDENT_LANGUAGES))
def test_plural_forms_header_matches_the_language(lang: str) -> None:
    # The same rule as CLDR's (through Babel), whatever its spelling: Babel 2.19 writes the
    # Ukrainian rule differently, and corrected the Arabic one (11-99 is "many", 100 "other").
    po = catalogue(lang)
    plural = get_plural(lang)
    assert po.num_plurals == plural.num_plurals
    ours, cldr = gettext.c2py(po.plural_expr), gettext.c2py(plural.plural_expr)
    assert [ours(n) for n in range(1001)] == [cldr(n) for n in range(1001)]


@pytest.mark.parametrize("lang", list(RESPONDENT_LANGUAGES))
def test_placeholders_survive_translation(lang: str) -> None:
    problems = [(m.id, errors) for m, errors in catalogue(lang).check() if errors]
    assert not problems
    for message in catalogue(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for text in strings_of(message):
            if not text:
                continue  # untranslated: the Dutch text, with its own placeholders
            found = set(PLACEHOLDER.findall(text))
            # A plural form may leave out the number ("two problems" is one word in Arabic).
            expected = found <= wanted | {"%(num)d"} if len(ids) > 1 else found == wanted
            assert expected, (message.id, text)


@pytest.mark.parametrize("lang", list(RESPONDENT_LANGUAGES))
def test_compiled_catalogue_matches_the_po_file(lang: str) -> None:
    compiled = Translations.load(str(TRANSLATIONS), [lang])
    po = catalogue(lang)
    plural = gettext.c2py(po.plural_expr)
    for message in po:
        if not message.id:
            continue
        if not isinstance(message.id, tuple):
            assert compiled.ugettext(message.id) == (message.string or message.id), message.id
            continue
        singular, many = message.id
        complete = all(message.string)
        for n in (0, 1, 2, 3, 5, 11, 21, 101, 111):
            expected = message.string[plural(n)] if complete else (singular if n == 1 else many)
            assert compiled.ungettext(singular, many, n) == expected, (message.id, n)


def test_staff_pages_follow_the_browser(client) -> None:  # type: ignore[no-untyped-def]
    dutch = client.get("/login").get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US,en"}).get_data(as_text=True)
    assert '<html lang="nl"' in dutch and '<html lang="en"' in english
    assert "Wachtwoord" in dutch and "Password" in english and "Wachtwoord" not in english
    # A cache must not hand one browser's language to another.
    vary = client.get("/login").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary


def test_language_switch_remembers_the_choice(client) -> None:  # type: ignore[no-untyped-def]
    switched = client.get("/taal/en?terug=/login")
    assert switched.status_code == 303 and switched.headers["Location"] == "/login"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("peiling_taal=en;") and "HttpOnly" in cookie
    html = client.get("/login", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="en"' in html
    client.get("/taal/nl?terug=/login")
    assert '<html lang="nl"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "x", ""],
)
def test_language_switch_never_leaves_the_site(client, target: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/taal/en", query_string={"terug": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_unknown_language_sets_nothing(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/taal/xx?terug=/login")
    assert response.status_code == 303 and "Set-Cookie" not in response.headers


def test_import_problems_follow_the_interface_language(app) -> None:  # type: ignore[no-untyped-def]
    from peiling.extensions import db
    from peiling.surveys.importer import DefinitionError, build_survey

    bad = {"slug": "x", "title": "", "region": "drenthe", "pages": []}
    found = {}
    for lang in ("nl", "en"):
        headers = {"Accept-Language": lang}
        with app.test_request_context("/", headers=headers), pytest.raises(DefinitionError) as e:
            build_survey(db.session, bad)
        found[lang] = e.value.problems
    assert "vragenlijst: veld 'title' ontbreekt of is leeg" in found["nl"]
    assert "questionnaire: field 'title' is missing or empty" in found["en"]
    with app.app_context(), pytest.raises(DefinitionError) as e:  # the command line: Dutch
        build_survey(db.session, bad)
    assert e.value.problems == found["nl"]


def test_use_switches_the_language_before_and_after_a_text_was_made(app) -> None:  # type: ignore[no-untyped-def]
    """i18n.use() skips Flask-Babel's refresh while no locale was chosen yet; once one was
    (a text made in Dutch), it must still switch."""
    from flask_babel import gettext

    from peiling import i18n

    with app.test_request_context("/"):
        i18n.use("en")
        assert gettext("Kies ja of nee.") == "Choose yes or no."
    with app.test_request_context("/"):
        assert gettext("Kies ja of nee.") == "Kies ja of nee."
        i18n.use("en")
        assert gettext("Kies ja of nee.") == "Choose yes or no."
        i18n.use("nl")
        assert gettext("Kies ja of nee.") == "Kies ja of nee."
