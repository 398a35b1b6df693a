"""What a respondent of the demo poll sends: the complete answers, cookie and CSRF token.

A complete submission is one POST of the demo poll's last page (`pagina=2`, `actie=verder`)
carrying every page's answers: the earlier pages' answers travel as hidden fields, so the
server validates and stores the whole response from this single request. The CSRF token is
bound to the form cookie (peiling_form), so both are taken from one page view and reused throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlencode

SLUG = "jongerenpeiling-demo"
FORM_PATH = f"/p/{SLUG}"
THANKS_PATH = f"/p/{SLUG}/bedankt"
FORM_COOKIE = "peiling_form"

ANSWERS: list[tuple[str, str]] = [
    ("q_leeftijd", "16"),
    ("q_gemeente", "GM0114"),
    ("q_genoeg_te_doen", "onvoldoende"),
    ("q_organiseren", "ja"),
    ("q_activiteiten", "sport"),
    ("q_activiteiten", "muziek"),
    ("q_activiteiten", "natuur"),
    ("q_cijfer", "7"),
    ("q_opmerking", "Meer te doen in het weekend, een skatebaan bij het station graag!"),
    ("q_helpen", "nee"),
]

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def submission_fields(csrf_token: str, token: str | None = None) -> list[tuple[str, str]]:
    """All fields of a complete submission; without `token` when the caller adds it."""
    # `taal` as the form's hidden field sends it: the respondent's language.
    fields = [("csrf_token", csrf_token), ("pagina", "2"), ("taal", "nl"), ("actie", "verder")]
    fields += ANSWERS
    if token is not None:
        fields.append(("token", token))
    return fields


def submission_body(csrf_token: str, token: str | None = None) -> str:
    return urlencode(submission_fields(csrf_token, token))


def csrf_token(html: str) -> str:
    found = _CSRF_RE.search(html)
    if not found:
        raise RuntimeError("no csrf_token in the form page")
    return found.group(1)


def form_cookie(set_cookie_headers: Iterable[str]) -> str:
    """The `name=value` pair of the form cookie among Set-Cookie headers."""
    for header in set_cookie_headers:
        pair = header.split(";", 1)[0].strip()
        if pair.startswith(FORM_COOKIE + "="):
            return pair
    raise RuntimeError(f"the form page set no {FORM_COOKIE} cookie")
