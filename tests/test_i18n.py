"""Interface languages: complete, compiled and consistent catalogues; choosing a language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.support import Translations

from peiling.i18n import LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_marked_text_is_translated(lang: str) -> None:
    po = catalogue(lang)
    missing = []
    for msgid in sorted(marked_texts()):
        message = po.get(msgid)
        strings = message.string if message and isinstance(message.string, tuple) else None
        if (
            message is None
            or message.fuzzy
            or not (strings or [message.string])[0]
            or strings is not None
            and not all(strings)
        ):
            missing.append(msgid)
    assert not missing, f"{len(missing)} texts without {lang}: run `make translations`"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_placeholders_survive_translation(lang: str) -> None:
    problems = [(m.id, errors) for m, errors in catalogue(lang).check() if errors]
    assert not problems
    for message in catalogue(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[0]))
        for text in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", text)) <= wanted | {"%(num)d"}, message.id


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_compiled_catalogue_matches_the_po_file(lang: str) -> None:
    compiled = Translations.load(str(TRANSLATIONS), [lang])
    for message in catalogue(lang):
        if not message.id or isinstance(message.id, tuple):
            continue
        assert compiled.ugettext(message.id) == (message.string or message.id), message.id


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
