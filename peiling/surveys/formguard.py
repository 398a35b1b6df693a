"""CSRF protection for the public form: a signed double-submit cookie, without a session.

Staff pages use Flask-WTF's session-based tokens. Respondents get no server session at
all: the browser holds a random secret in an HttpOnly, SameSite=Lax cookie, and each form
carries HMAC(key, secret) in its `csrf_token` field (OWASP's "signed double-submit cookie").
A cross-site POST arrives without the cookie (SameSite), and a page elsewhere cannot read
the cookie to compute the field. Checking it costs one HMAC, where a session-bound token
costs two signed-cookie decodes per submission (see make bench); and a respondent carries
no session identifier.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from functools import lru_cache

from flask import current_app, g, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError

COOKIE = "peiling_form"
FIELD = "csrf_token"
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@lru_cache(maxsize=8)
def _derive(app_secret: str | bytes) -> bytes:
    # A key of its own, derived from SECRET_KEY, so these MACs mean nothing anywhere else.
    raw = app_secret.encode() if isinstance(app_secret, str) else bytes(app_secret)
    return hmac.digest(raw, b"peiling public form csrf", "sha256")


def _mac(secret: str) -> str:
    return _mac_with(_derive(current_app.secret_key or b""), secret)


@lru_cache(maxsize=4096)
def _mac_with(key: bytes, secret: str) -> str:
    # Kept for the browser's next page: each page shown and each page posted needs it.
    digest = hmac.digest(key, secret.encode(), "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _browser_secret() -> str | None:
    value = request.cookies.get(COOKIE, "")
    return value if _SECRET_RE.match(value) else None


def token() -> str:
    """The `csrf_token` value for a page shown now (a new browser secret if needed)."""
    secret = _browser_secret() or g.get("form_secret")
    if secret is None:
        secret = g.form_secret = secrets.token_urlsafe(32)
    return _mac(secret)


def remember(response: ResponseReturnValue, path: str = "/p/") -> None:
    """Set the cookie (for the public pages under `path`) when `token()` had to make a new
    secret for this response."""
    secret = g.get("form_secret")
    if secret is not None:
        response.set_cookie(  # type: ignore[union-attr]
            COOKIE,
            secret,
            path=path,
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )


def check(posted: str) -> None:
    """Raise CSRFError unless `posted` (the form's FIELD) matches this browser's cookie.

    A browser that keeps no cookies at all (Safari's "block all cookies", a locked-down
    school phone) never has the cookie: she would be sent back to the same page for ever.
    Her browser still says where the post comes from: `Sec-Fetch-Site: same-origin` is set
    by the browser alone (no page can set or forge it), and a cross-site form post says
    "cross-site". Only then is a missing cookie let through (as Go's
    http.CrossOriginProtection does); a cookie that is there must still match.
    """
    secret = _browser_secret()
    if secret is None:
        if request.headers.get("Sec-Fetch-Site") == "same-origin":
            return
        raise CSRFError("Het formuliercookie ontbreekt.")
    # As bytes: compare_digest refuses str with non-ASCII characters, which a script can send.
    if not hmac.compare_digest(_mac(secret).encode(), posted.encode()):
        raise CSRFError("Het formuliertoken klopt niet.")
