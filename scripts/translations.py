"""Keep the interface catalogues in step with the code: `make translations`.

Extracts every marked text (Dutch, the source language) into peiling/translations/
messages.pot, updates the nl, en, uk and ar catalogues from it, fills the Dutch catalogue with
the source texts, takes translations from any JSON files given ({"msgid": "text"} or, for
plurals, {"msgid": ["form", "form", ...]} with as many forms as the language has), and
compiles the .mo files the app loads. A file named `*.uk.json` or `*.ar.json` (or `uk.json`)
holds that language; any other file English. Translations already in a catalogue are kept.

nl and en are staff and respondent languages: every text must be translated. uk and ar are
only offered to respondents, so only what respondents can see (RESPONDENT_SOURCES) must be
translated there; their other texts stay empty and would fall back to Dutch.
Prints what is still untranslated; tests/test_i18n.py fails while anything is.

    .venv/bin/python scripts/translations.py [FILE.json | FILE.uk.json | FILE.ar.json ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.util import pathmatch

from peiling.i18n import DEFAULT, LANGUAGES, RESPONDENT_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "peiling"
FOLDER = PACKAGE / "translations"
POT = FOLDER / "messages.pot"
LANGS = tuple(RESPONDENT_LANGUAGES)  # nl, en, uk, ar
# Languages only respondents see: there, only the respondent texts must be translated.
RESPONDENT_ONLY = tuple(code for code in RESPONDENT_LANGUAGES if code not in LANGUAGES)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}  # as `pybabel extract -k _l -k N_` below

# What a respondent can see, relative to peiling/: the public form, its status, thank-you
# and privacy pages, the error pages, and the messages the form's checks give.
RESPONDENT_SOURCES = (
    "templates/base.html",
    "templates/surveys/*.html",
    "templates/errors/*.html",
    "surveys/answers.py",
    "surveys/render.py",
    "surveys/views.py",
    "web.py",
)
# Files of which respondents see only the N_()-marked texts: the importer's labels of the
# options a question type brings along (Ja/Nee, the agree scale, "Anders, namelijk"), not
# its messages to researchers.
RESPONDENT_LABELS = ("surveys/importer.py",)


def _extract(path: Path, keywords: dict) -> Iterator[str]:  # type: ignore[type-arg]
    """The msgids marked in `path`, read as babel.cfg says (and `pybabel extract` does)."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    relative = path.relative_to(PACKAGE).as_posix()
    pattern, method = next((p, m) for p, m in method_map if pathmatch(p, relative))
    for _line, message, _comments, _context in extract_from_file(
        method, str(path), keywords=keywords, options=options_map.get(pattern, {})
    ):
        yield message[0] if isinstance(message, tuple) else message


def _files(patterns: Iterable[str]) -> Iterator[Path]:
    for pattern in patterns:
        found = sorted(PACKAGE.glob(pattern))
        if not found:
            raise FileNotFoundError(f"RESPONDENT_SOURCES: nothing matches peiling/{pattern}")
        yield from found


def respondent_texts() -> set[str]:
    """Every msgid a respondent can see (the singular one of a plural)."""
    texts = {msgid for path in _files(RESPONDENT_SOURCES) for msgid in _extract(path, KEYWORDS)}
    for path in _files(RESPONDENT_LABELS):
        texts.update(_extract(path, {"N_": None}))
    return texts


def json_language(path: str) -> str:
    """The language of a JSON file: `respondent.uk.json` and `uk.json` hold Ukrainian, any
    file without a language before `.json` English (the files that built the catalogue)."""
    tag = Path(path).name.removesuffix(".json").rsplit(".", 1)[-1]
    if tag == DEFAULT:
        raise SystemExit(f"{path}: the Dutch catalogue is filled from the source texts")
    return tag if tag in LANGS else "en"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)  # noqa: S603


def po_path(lang: str) -> Path:
    return FOLDER / lang / "LC_MESSAGES" / "messages.po"


def complete(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return not message.fuzzy and all(strings)


def fill(catalog: Catalog, lang: str, given: dict[str, object]) -> int:
    """Put the `given` translations into `catalog`; returns how many could not be used."""
    problems = 0
    for msgid, text in given.items():
        message = catalog.get(msgid)
        if message is None:
            print(f"[{lang}] not in the code, ignored: {msgid!r}")
            continue
        plural = isinstance(message.id, tuple)
        if plural:
            forms = catalog.num_plurals
            valid = isinstance(text, list) and len(text) == forms
            valid = valid and all(isinstance(t, str) for t in text)  # type: ignore[union-attr]
            if not valid:
                print(f"[{lang}] {msgid!r}: give a list of {forms} plural forms")
                problems += 1
                continue
            message.string = tuple(text)  # type: ignore[arg-type]
        elif isinstance(text, str):
            message.string = text
        else:
            print(f"[{lang}] {msgid!r}: give the translation as text")
            problems += 1
    return problems


def update(lang: str) -> Catalog:
    """The catalogue of `lang`, brought in step with messages.pot (created if new)."""
    path = po_path(lang)
    if not path.exists():
        pybabel("init", "-i", str(POT), "-d", str(FOLDER), "-l", lang, "--no-wrap")
    pybabel(
        "update",
        "-i",
        str(POT),
        "-d",
        str(FOLDER),
        "-l",
        lang,
        "--no-wrap",
        "--ignore-obsolete",
        "--no-fuzzy-matching",
    )
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def main(parts: list[str]) -> int:
    pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_l",
        "-k",
        "N_",
        "--no-location",
        "--sort-output",
        "--omit-header",
        "-o",
        str(POT),
        "peiling",
    )
    given: dict[str, dict[str, object]] = {lang: {} for lang in LANGS}
    for part in parts:
        given[json_language(part)].update(json.loads(Path(part).read_text(encoding="utf-8")))
    respondent = respondent_texts()
    missing = problems = 0
    for lang in LANGS:
        catalog = update(lang)
        if lang == DEFAULT:
            for message in catalog:
                if message.id:
                    message.string = message.id
        problems += fill(catalog, lang, given[lang])
        for message in catalog:
            msgid = message.id[0] if isinstance(message.id, tuple) else message.id
            needed = lang not in RESPONDENT_ONLY or msgid in respondent
            if msgid and needed and not complete(message):
                missing += 1
                print(f"[{lang}] untranslated: {msgid!r}")
        for message, errors in catalog.check():
            problems += len(errors)
            for error in errors:
                print(f"[{lang}] {message.id!r}: {error}")
        path = po_path(lang)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, sort_output=True)
        # An empty translation must not reach the .mo file: gettext would show nothing
        # instead of the Dutch text (a plural's forms are a tuple, never falsy).
        for message in list(catalog):
            if message.id and not complete(message):
                del catalog[message.id]
        with path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)
    print(f"{len(respondent)} respondent texts; {missing} untranslated; {problems} problems")
    return 1 if missing or problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
