"""App-wide request guards, security headers, static URLs and friendly Dutch error pages."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, abort, render_template, request, url_for
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

MESSAGES = {
    400: (
        "Er ging iets mis met je verzoek",
        "Je browser stuurde iets dat we niet begrijpen. Ga terug en probeer het nog eens.",
    ),
    403: ("Geen toegang", "Je hebt geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet (meer). Controleer de link."),
    405: ("Dat kan zo niet", "Deze pagina kan op deze manier niet worden gebruikt."),
    413: (
        "Te veel gegevens",
        "Je stuurde meer tekst dan we kunnen opslaan. Maak je antwoorden "
        "korter en probeer het opnieuw.",
    ),
    429: (
        "Even rustig aan",
        "Er kwamen te veel verzoeken tegelijk. Wacht even en probeer het dan opnieuw.",
    ),
    500: (
        "Er ging iets mis",
        "Er ging bij ons iets mis. Probeer het over een paar minuten opnieuw.",
    ),
    503: (
        "Even niet bereikbaar",
        "We kunnen je verzoek nu even niet verwerken. Probeer het over een minuut opnieuw.",
    ),
}


def error_page(code: int, detail: str | None = None) -> tuple[str, int]:
    """Render the friendly page for status `code`."""
    title, text = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    return render_template("errors/error.html", title=title, text=detail or text, code=code), code


def _http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc
    detail = exc.description if getattr(exc, "peiling_detail", False) else None
    return error_page(exc.code, detail)


def _database_error(exc: Exception) -> tuple[str, int]:
    log.error("database unavailable: %s", type(exc).__name__)
    return error_page(503)


def _unexpected_error(exc: Exception) -> tuple[str, int]:
    # The traceback goes to the log, never to the browser.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500)


def reject_invalid_utf8() -> None:
    """Refuse form posts that are not valid UTF-8 instead of silently replacing characters."""
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return
    # cache=True: the form parser reads the same bytes again afterwards.
    body = request.get_data(cache=True)
    try:
        # One pass over the whole body: "&" and "=" are ASCII, which never occurs inside a
        # multi-byte UTF-8 sequence, so they cannot make an invalid field look valid.
        unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        abort(400)


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


class StaticUrls:
    """Static URLs with a content hash, so browsers may cache them for a year."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.hashes: dict[str, str] = {}

    def __call__(self, filename: str) -> str:
        digest = self.hashes.get(filename)
        if digest is None:
            content = (self.folder / filename).read_bytes()
            digest = hashlib.sha256(content).hexdigest()[:10]
            self.hashes[filename] = digest
        return url_for("static", filename=filename, v=digest)


def init_app(app: Flask) -> None:
    """Register guards, headers, error pages and template helpers on `app`."""
    app.before_request(reject_invalid_utf8)
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.globals["static_url"] = StaticUrls(app.static_folder or "static")
