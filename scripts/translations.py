"""Keep the interface catalogues in step with the code: `make translations`.

Extracts every marked text (Dutch, the source language) into peiling/translations/
messages.pot, updates the nl and en catalogues from it, fills the Dutch catalogue with the
source texts, takes English translations from any JSON files given ({"msgid": "text"} or,
for plurals, {"msgid": ["singular", "plural"]}), and compiles the .mo files the app loads.
Prints what is still untranslated; tests/test_i18n.py fails while anything is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "peiling" / "translations"
POT = FOLDER / "messages.pot"
LANGS = ("nl", "en")


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)  # noqa: S603


def po_path(lang: str) -> Path:
    return FOLDER / lang / "LC_MESSAGES" / "messages.po"


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
    english: dict[str, object] = {}
    for part in parts:
        english.update(json.loads(Path(part).read_text(encoding="utf-8")))
    missing = 0
    for lang in LANGS:
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
            catalog = read_po(fh, locale=lang)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            if lang == "nl":
                message.string = ids if isinstance(message.id, tuple) else ids[0]
            elif ids[0] in english:
                given = english[ids[0]]
                message.string = tuple(given) if isinstance(message.id, tuple) else given
            if not all(message.string if isinstance(message.string, tuple) else [message.string]):
                missing += 1
                print(f"[{lang}] untranslated: {ids[0]!r}")
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, sort_output=True)
        with path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)
    print(f"{missing} untranslated")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
