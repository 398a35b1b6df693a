"""App-wide request guards, security headers, static URLs and friendly error pages."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import typing as t
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote

from flask import Flask, Response, current_app, render_template, request, url_for
from flask import Request as FlaskRequest
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter, Map

from peiling.extensions import csrf, db, login_manager
from peiling.geo import dutch_time

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
# More fields than any questionnaire has; a body with more is a script, not a respondent.
MAX_FORM_FIELDS = 2000

# Title and text of the error page per status code, in the request's interface language.
MESSAGES = {
    400: (
        _l("Er ging iets mis met je verzoek"),
        _l("Je browser stuurde iets dat we niet begrijpen. Ga terug en probeer het nog eens."),
    ),
    403: (_l("Geen toegang"), _l("Je hebt geen toegang tot deze pagina.")),
    404: (
        _l("Pagina niet gevonden"),
        _l("Deze pagina bestaat niet (meer). Controleer de link."),
    ),
    405: (_l("Dat kan zo niet"), _l("Deze pagina kan op deze manier niet worden gebruikt.")),
    413: (
        _l("Te veel gegevens"),
        _l(
            "Je stuurde meer tekst dan we kunnen opslaan. Maak je antwoorden "
            "korter en probeer het opnieuw."
        ),
    ),
    429: (
        _l("Even rustig aan"),
        _l("Er kwamen te veel verzoeken tegelijk. Wacht even en probeer het dan opnieuw."),
    ),
    500: (
        _l("Er ging iets mis"),
        _l("Er ging bij ons iets mis. Probeer het over een paar minuten opnieuw."),
    ),
    503: (
        _l("Even niet bereikbaar"),
        _l("We kunnen je verzoek nu even niet verwerken. Probeer het over een minuut opnieuw."),
    ),
}


def error_page(code: int, detail: str | None = None) -> tuple[str, int]:
    """Render the friendly page for status `code`."""
    title, text = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    # str(): a lazy text would pass Jinja's autoescaping as if it were markup.
    return render_template(
        "errors/error.html", title=str(title), text=detail or str(text), code=code
    ), code


def _http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc
    detail = exc.description if getattr(exc, "peiling_detail", False) else None
    return error_page(exc.code, detail)


# The names of every password field (a test walks all forms to keep this complete): never
# written into a page, neither to post again nor to keep through a login (auth/kept.py).
SECRET_FIELDS = frozenset({"password", "current", "new", "repeat"})


def database_error(exc: Exception) -> ResponseReturnValue:
    """503 when the database fails. A form posted meanwhile (a researcher's question, a
    resident's sign-up) comes back as a page that posts exactly the same once more, so
    that nothing typed is lost; the respondents' forms have their own (surveys/views.py).
    The login and password forms do not: their fields are never written into a page."""
    log.error("database unavailable: %s", type(exc).__name__)
    posted = repost() if not (request.endpoint or "").startswith("auth.") else None
    if posted is None:
        return error_page(503)
    with contextlib.suppress(Exception):  # the connection may be gone; teardown drops it
        db.session.rollback()
    action, fields = posted
    html = render_template("errors/retry.html", action=action, fields=fields)
    return html, 503, {"Retry-After": "5", "Cache-Control": "no-store"}


def repost() -> tuple[str, list[tuple[str, str]]] | None:
    """Where this request posted and its fields, password fields left out, to post them
    once more (the retry page, a form kept through a login); None for anything but a POST
    of a form without files."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.method != "POST" or req.endpoint is None:
        return None
    if req.mimetype != URLENCODED and any(f.filename for f in req.files.values()):
        return None
    try:
        fields = posted_fields()
    except HTTPException:  # a body too large or not UTF-8 is not to be posted again
        return None
    pairs = [(n, v) for n, values in fields.items() if n not in SECRET_FIELDS for v in values]
    return req.full_path.removesuffix("?"), pairs  # werkzeug adds "?" to a bare path


def _unexpected_error(exc: Exception) -> tuple[str, int]:
    # The traceback goes to the log, never to the browser. The route's pattern, not the
    # path: paths of panel links hold personal keys (/panel/bevestigen/<key>).
    route = request.url_rule.rule if request.url_rule else "(no route)"
    log.exception("unhandled error on %s %s", request.method, route)
    return error_page(500)


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """Parse an application/x-www-form-urlencoded body strictly, into lists per field name.

    Invalid UTF-8, raw or percent-encoded, is refused (400) instead of silently replaced, so
    a respondent's text is stored exactly as typed or not at all; a body of more than
    MAX_FORM_FIELDS fields is refused (413). Same result as urllib's parse_qsl with
    keep_blank_values, in one pass and about three times faster (the public form's POST).
    """
    try:
        parts = body.decode("utf-8").split("&")
        if len(parts) > MAX_FORM_FIELDS:
            raise RequestEntityTooLarge()
        fields: dict[str, list[str]] = {}
        for part in parts:
            if part:
                name, _, value = part.partition("=")
                # Most names and values need no unquoting: no call for those (the hot path).
                if "%" in name or "+" in name:
                    name = _unquote(name)
                if "%" in value or "+" in value:
                    value = _unquote(value)
                fields.setdefault(name, []).append(value)
    except UnicodeDecodeError as exc:
        raise BadRequest("invalid UTF-8 in form data") from exc
    return fields


def _unquote(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text, errors="strict") if "%" in text else text


class StrictFormDataParser(FormDataParser):
    """Werkzeug's form parser with `parse_urlencoded()` for urlencoded bodies."""

    def _parse_urlencoded(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[t.IO[bytes], t.Any, t.Any]:
        # The stream is already limited to MAX_CONTENT_LENGTH (413 beyond it).
        fields = parse_urlencoded(stream.read())
        return stream, self.cls(fields), self.cls()


URLENCODED = "application/x-www-form-urlencoded"


class Values(ImmutableMultiDict[str, t.Any]):
    """Werkzeug's immutable MultiDict, whose get() answers a missing key without raising and
    catching a BadRequestKeyError inside: the session and "already answered" cookies are
    looked up on every public request and are mostly absent."""

    def get(self, key: t.Any, default: t.Any = None, type: t.Any = None) -> t.Any:  # noqa: A002
        if key not in self:
            return default
        return super().get(key, default, type)


class Request(FlaskRequest):
    """Flask's request, with strict form parsing and the form as a plain dict of lists."""

    form_data_parser_class = StrictFormDataParser
    parameter_storage_class = Values
    dict_storage_class = Values

    def _load_form_data(self) -> None:
        # Keep an urlencoded body (at most MAX_CONTENT_LENGTH), so `fields` and `form` can
        # both read it, in either order: Flask-WTF's CSRF check reads `form` first.
        if self.mimetype == URLENCODED:
            self.get_data(cache=True)
        super()._load_form_data()

    @cached_property
    def fields(self) -> dict[str, list[str]]:
        """The posted form as a dict of lists: parse_urlencoded, without building `form`.

        The public form's POST reads only this (make bench: werkzeug's form machinery was
        a noticeable part of a submission's CPU).
        """
        if self.mimetype == URLENCODED:
            return parse_urlencoded(self.get_data(cache=True))
        return self.form.to_dict(flat=False)


def posted_fields() -> dict[str, list[str]]:
    """The current request's posted form (see Request.fields)."""
    return request.fields  # type: ignore[attr-defined, no-any-return]


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the signing work for requests without one.

    Respondents never get a session; their requests now skip building a serializer on the
    way in and deciding cookie attributes on the way out (make bench: a submission's CPU).
    """

    def open_session(self, app: Flask, request: FlaskRequest) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: t.Any, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                # As Flask does, without parsing an absent Vary header into a set first
                # (Flask-Login's after_request touches the session on every response).
                if "Vary" in response.headers:
                    response.vary.add("Cookie")
                else:
                    response.headers["Vary"] = "Cookie"
            return
        super().save_session(app, session, response)


# Endpoints that accept a file upload, with their own, larger request-size limit.
UPLOAD_ENDPOINTS = frozenset({"designer.upload", "analysis.weights", "panel.import_members"})
UPLOAD_LIMIT = 3 * 1024 * 1024


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The respondents' blueprint: its forms carry formguard's token instead of a session-bound
# one, and its POST views check it themselves (surveys/formguard.py). The security tests
# post to every POST route without a valid token, this blueprint's included.
FORMGUARD_BLUEPRINTS = frozenset({"surveys"})


class StaleForm(CSRFError):
    """A form from one of this site's own pages whose CSRF token no longer fits the session:
    the session ended (or the browser dropped its cookie), or a newer login in another tab
    replaced it, or it is the login form left open too long. auth/views.py answers it by
    keeping what was posted through a login or a confirmation (auth/kept.py)."""


def guard_request() -> None:
    """Before every request: refuse a NUL byte in the URL, allow the upload endpoints a
    larger body, and for anything but a GET outside the respondents' blueprint refuse a NUL
    in the form and check the CSRF token (after the limit: both parse the form). One hook
    for all of it, since it runs on every request."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one context lookup
    refuse_nul(req.environ)
    if req.endpoint in UPLOAD_ENDPOINTS:
        req.max_content_length = UPLOAD_LIMIT
        req.max_form_memory_size = UPLOAD_LIMIT
    if req.method not in SAFE_METHODS and req.blueprint not in FORMGUARD_BLUEPRINTS:
        if req.endpoint not in OWN_VALIDATION:
            refuse_nul_in_form(req)
        if current_app.config["WTF_CSRF_ENABLED"]:
            try:
                csrf.protect(apply_exemptions=True)  # views marked @csrf.exempt aside
            except CSRFError as exc:
                if _from_own_page(req):
                    raise StaleForm(exc.description) from exc
                raise


def _from_own_page(req: FlaskRequest) -> bool:
    """Whether a POST that failed the CSRF check came from one of this site's own pages:
    `Sec-Fetch-Site: same-origin` is set by the browser alone, and a cross-site post never
    carries it. The login form counts as well: it changes nothing without a password."""
    if req.endpoint is None:  # no such page: its 404 comes next
        return False
    return (
        req.endpoint == login_manager.login_view
        or req.headers.get("Sec-Fetch-Site") == "same-origin"
    )


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None: never `//elsewhere`,
    `/\\elsewhere` or `https://elsewhere`, for any redirect to a target taken from the URL.

    Browsers read a backslash as a slash and drop tabs and newlines anywhere in a URL, so
    a target with either, or with any other control character or a space, is refused rather
    than cleaned: no link of ours has one.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x21 or c == "\x7f" for c in target):
        return None
    return target  # one slash and no second: neither a scheme nor a host can follow


# Respondents' forms outside that blueprint: like the public form, they validate every
# answer (control characters taken out of texts, or an error next to the field) and show
# the page again with every answer, instead of a 400.
OWN_VALIDATION = frozenset({"panel.wave_form"})


def refuse_nul_in_form(req: FlaskRequest) -> None:
    """400 for a NUL in a posted field name or value, as in the URL (refuse_nul): nobody
    types one, and PostgreSQL would refuse it in a text parameter."""
    for name, values in req.form.lists():  # parsed once; the view reads the same
        if "\x00" in name or any("\x00" in value for value in values):
            raise BadRequest("NUL in form data")


def refuse_nul(environ: WSGIEnvironment) -> None:
    """400 for a NUL byte in the path or query string: no URL of ours has one, and
    PostgreSQL refuses it in a text parameter (a DataError, which read as "database down")."""
    # On the raw environ, without decoding the query: the server has decoded the path
    # already, and the query string can only carry a NUL raw or as %00.
    query = environ.get("QUERY_STRING", "")
    if "\x00" in environ.get("PATH_INFO", "") or "%00" in query or "\x00" in query:
        raise BadRequest("NUL in URL")


class SecurityHeaders:
    """WSGI middleware: every response gets the security headers it has not set itself.

    At the WSGI layer rather than in an after_request hook: it also covers responses that
    never pass Flask's hooks, and appending fixed pairs to the plain header list costs a
    fraction of werkzeug's validating Headers (make bench: it runs on every submission).
    """

    def __init__(self, app: WSGIApplication, headers: t.Sequence[tuple[str, str]]) -> None:
        self.app = app
        self.headers = [(name.lower(), (name, value)) for name, value in headers]

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        def start(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            present = {name.lower() for name, _ in headers}
            added = [pair for name, pair in self.headers if name not in present]
            return start_response(status, headers + added, exc_info)

        return self.app(environ, start)


class UntrustedForwarding:
    """WSGI middleware without PROXY_COUNT: warn once per process when a request says it was
    forwarded (X-Forwarded-For), and otherwise change nothing.

    Behind a reverse proxy that nobody told Peiling about, every respondent seems to come
    from the proxy's address, so a whole town shares one rate-limit count and gets 429s
    once the limit is reached; this makes that visible in the log before it happens. A
    client can send the header itself, which is why it is only a warning, once.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.warned = False

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if not self.warned and "HTTP_X_FORWARDED_FOR" in environ:
            self.warned = True
            log.warning(
                "a request came with X-Forwarded-For, but PEILING_PROXY_COUNT is 0: behind a"
                " reverse proxy, set it to the number of proxies, or every client counts as"
                " the proxy's address (one rate-limit count and one login throttle for all)"
            )
        return self.app(environ, start_response)


def security_headers(app: Flask) -> list[tuple[str, str]]:
    """The headers every response of `app` carries (unless a view set its own)."""
    headers = list(SECURITY_HEADERS)
    if app.config.get("HTTPS"):
        headers.append(("Strict-Transport-Security", f"max-age={int(app.config['HSTS_SECONDS'])}"))
    return headers


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


def healthz() -> tuple[dict[str, str], int, dict[str, str]]:
    """For load balancers: 200 when this process can reach the database, else 503. Says
    nothing more (no versions, no error text), and is never cached."""
    from sqlalchemy import text

    from peiling.extensions import db

    headers = {"Cache-Control": "no-store"}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means: send no traffic here
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return {"status": "database unreachable"}, 503, headers
    return {"status": "ok"}, 200, headers


class RowNumber(IntegerConverter):
    """`<row:name>`: a number kept in an integer column (an id, a batch), as ASCII digits.

    A larger number names no row, so it is a 404 like any other: unbounded, PostgreSQL
    refused to compare it (a DataError, shown as "even niet bereikbaar") and SQLite's
    driver to bind it past 2**63 (a 500)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Map) -> None:  # noqa: A002 - werkzeug's name
        super().__init__(map, min=0, max=2**31 - 1)


def init_app(app: Flask) -> None:
    """Register guards, headers, error pages and template helpers on `app`; before the
    blueprints, whose routes use the `row` converter."""
    app.url_map.converters["row"] = RowNumber
    app.add_url_rule("/healthz", "healthz", healthz)
    app.before_request(guard_request)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, security_headers(app))  # type: ignore[method-assign]
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, database_error)
    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.globals["static_url"] = StaticUrls(app.static_folder or "static")
    app.jinja_env.filters["dutch"] = dutch_time
