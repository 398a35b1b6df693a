"""A staff form posted after its session ended, kept through the login that follows.

A researcher who rewrites a question or a privacy statement and presses save after her
session has ended (a working day after login, or the morning after, when the browser has
dropped the cookie) used to lose what she typed: the POST could only answer with the
login page. Now that login page carries what she posted, signed, and after the login she
gets a page that posts it once more, with a fresh CSRF token, when she presses save. Nothing
is saved without that press, and only what came from this site's own pages is kept (a
valid CSRF token, or the browser's own `Sec-Fetch-Site: same-origin`): a forged cross-site
post cannot use her login to get itself saved.

Passwords are never kept: they would sit in a page's HTML. Neither are uploaded files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from peiling.web import SECRET_FIELDS, local_path

FIELD = "kept"
SALT = "peiling kept form"
# A kept form is offered for a day: long enough to log in the next morning.
MAX_AGE = 24 * 3600
# Well under MAX_FORM_MEMORY_SIZE, which the login POST carrying it must pass.
MAX_CHARS = 256 * 1024
# Every password field, and the form's own token, which is replaced by a fresh one.
NOT_KEPT = SECRET_FIELDS | {"csrf_token", FIELD}


@dataclass(frozen=True)
class KeptForm:
    """Where a form was posted, its fields in order, and the signed text that carries both."""

    url: str
    fields: tuple[tuple[str, str], ...]
    signed: str


def _serializer(secret_key: str | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key or current_app.secret_key or "", salt=SALT)


def keep(
    url: str, posted: Iterable[tuple[str, str]], secret_key: str | None = None
) -> KeptForm | None:
    """The fields `posted` to `url` (a path on this site; web.repost), signed with the
    app's secret key; None when there is nothing worth keeping or it would be too large
    to carry through the login."""
    if local_path(url) is None:
        return None
    fields = tuple((name, value) for name, value in posted if name not in NOT_KEPT)
    if not fields:
        return None
    # itsdangerous compresses the payload when that makes it shorter (typed text does).
    signed = _serializer(secret_key).dumps([url, [list(pair) for pair in fields]])
    if len(signed) > MAX_CHARS:
        return None
    return KeptForm(url, fields, signed)


def read(signed: str | None, secret_key: str | None = None) -> KeptForm | None:
    """The form `keep` signed, or None when `signed` is missing, altered or too old."""
    if not signed or len(signed) > MAX_CHARS:
        return None
    try:
        url, pairs = _serializer(secret_key).loads(signed, max_age=MAX_AGE)
        fields = tuple((str(name), str(value)) for name, value in pairs)
    except (BadData, TypeError, ValueError):
        return None
    if not isinstance(url, str) or local_path(url) is None:
        return None
    return KeptForm(url, fields, signed)
