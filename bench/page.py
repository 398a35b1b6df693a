"""In-process measurements with the Flask test client: page weight, SQL queries, server time.

- `page_weight()` fetches the demo poll's first page as a first-time visitor (no cookies),
  follows everything a browser would load from it (`<link rel=stylesheet|icon|preload
  href>`, `<script src>`, `<img src>` and the like, then `url()` and `@import` in each
  stylesheet), and records each resource's bytes raw and gzipped (level 6). Every URL in
  src/href/action/srcset/poster and in CSS `url()` is classified: inline (`data:` and the
  like: no request), same origin, or third party (an absolute http(s):// or protocol-relative
  // URL pointing at another origin).
- `page_views()` counts the SQL statements of a page view with a `before_cursor_execute`
  listener on `db.engine`: the first view after the definition cache was cleared (as in a
  freshly started worker) and then the steady state, and times warm views.
- `submissions()` does the same for complete submissions (a POST of the last page).

The engine's connection pings (`pool_pre_ping`) and the transaction's BEGIN/COMMIT do not
pass through `before_cursor_execute`; pool check-outs are counted separately so the extra
round trips can be judged.
"""

from __future__ import annotations

import gzip
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.respondent import FORM_PATH, THANKS_PATH, csrf_token, form_cookie, submission_body

ORIGIN = "http://localhost"  # what the test client calls itself
GZIP_LEVEL = 6
INLINE_SCHEMES = ("data:", "javascript:", "mailto:", "tel:", "about:", "blob:")
URL_ATTRIBUTES = {"src", "href", "action", "srcset", "poster", "formaction"}
LOADED_LINK_RELS = {
    "stylesheet",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "preload",
    "modulepreload",
    "manifest",
}
LOADED_SRC_TAGS = {"script", "img", "iframe", "audio", "video", "source", "embed", "track"}
CSS_URL_RE = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.IGNORECASE)
CSS_IMPORT_RE = re.compile(r"""@import\s+["']([^"']+)["']""", re.IGNORECASE)


# ---------------------------------------------------------------------------- page weight


@dataclass
class Resource:
    url: str
    content_type: str
    status: int
    raw: int
    gzipped: int
    loaded_by: str


@dataclass
class PageWeight:
    resources: list[Resource] = field(default_factory=list)
    third_party: list[tuple[str, str]] = field(default_factory=list)  # (where, url)
    inline: list[tuple[str, str]] = field(default_factory=list)  # data: URLs and the like

    @property
    def raw(self) -> int:
        return sum(r.raw for r in self.resources)

    @property
    def gzipped(self) -> int:
        return sum(r.gzipped for r in self.resources)

    @property
    def requests(self) -> int:
        return len(self.resources)


class _Collector(HTMLParser):
    """Collects the URLs a page loads, every URL it mentions, and its inline CSS."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []
        self.mentions: list[tuple[str, str]] = []
        self.css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name in URL_ATTRIBUTES and value.strip():
                urls = _srcset_urls(value) if name == "srcset" else [value.strip()]
                self.mentions += [(f"<{tag} {name}>", url) for url in urls]
        if values.get("style"):
            self.css.append(values["style"])
        rels = set(values.get("rel", "").lower().split())
        if tag == "link" and rels & LOADED_LINK_RELS and values.get("href"):
            self.loads.append((f"<link rel={values['rel']}>", values["href"].strip()))
        if tag in LOADED_SRC_TAGS and values.get("src"):
            self.loads.append((f"<{tag} src>", values["src"].strip()))
        if tag == "input" and values.get("type") == "image" and values.get("src"):
            self.loads.append(("<input type=image src>", values["src"].strip()))
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)


def _srcset_urls(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


def css_urls(css: str) -> list[str]:
    """Every url() and @import target in a stylesheet."""
    found = [next(g for g in m.groups() if g is not None) for m in CSS_URL_RE.finditer(css)]
    found += CSS_IMPORT_RE.findall(css)
    return [url.strip() for url in found if url.strip()]


def classify(url: str, base: str) -> tuple[str, str]:
    """('inline' | 'same' | 'third' | 'fragment', absolute URL) of a URL found at `base`."""
    if url.lower().startswith(INLINE_SCHEMES):
        return "inline", url
    if url.startswith("#"):
        return "fragment", url
    absolute = urljoin(base, url)
    parts, origin = urlsplit(absolute), urlsplit(base)
    if parts.scheme not in ("http", "https"):
        return "inline", url
    if (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc):
        return "same", absolute
    return "third", absolute


def _path(absolute: str) -> str:
    parts = urlsplit(absolute)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_weight(app: Flask, path: str = FORM_PATH) -> PageWeight:
    """Fetch `path` and everything it loads, as a first-time visitor would."""
    client = app.test_client(use_cookies=False)
    weight = PageWeight()
    seen: set[str] = set()
    queue: list[tuple[str, str]] = [("address bar", ORIGIN + path)]
    while queue:
        loaded_by, url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(_path(url))
        body = response.get_data()
        content_type = (response.mimetype or "?").split(";")[0]
        weight.resources.append(
            Resource(
                url=_path(url),
                content_type=content_type,
                status=response.status_code,
                raw=len(body),
                gzipped=len(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)),
                loaded_by=loaded_by,
            )
        )
        text = body.decode("utf-8", "replace")
        if content_type == "text/html":
            parser = _Collector()
            parser.feed(text)
            parser.close()
            loads, mentions = parser.loads, parser.mentions
            css = [("inline CSS url()", u) for chunk in parser.css for u in css_urls(chunk)]
            loads, mentions = loads + css, mentions + css
        elif content_type == "text/css":
            name = _path(url).split("?")[0].rsplit("/", 1)[-1]
            loads = mentions = [(f"{name} url()", u) for u in css_urls(text)]
        else:
            loads, mentions = [], []
        for where, ref in mentions:
            kind, absolute = classify(ref, url)
            if kind == "third":
                weight.third_party.append((where, absolute))
            elif kind == "inline":
                weight.inline.append((where, ref[:40]))
        for where, ref in loads:
            kind, absolute = classify(ref, url)
            if kind == "same":
                queue.append((where, absolute))
    return weight


# ------------------------------------------------------------------------- SQL and timing


class QueryLog:
    """Statements run through an engine (before_cursor_execute) and pool check-outs.

    Also the statements of `peiling.database.execute_idempotent()`, which bypass
    SQLAlchemy's events; each of those is one check-out of the writer pool.
    """

    def __init__(self, engine: Engine) -> None:
        from peiling import database

        self.engine = engine
        self.statements: list[str] = []
        self.checkouts = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine.pool, "checkout", self._checkout)
        database.statement_listeners.append(self._raw_statement)

    def _raw_statement(self, statement: str, _params: Any) -> None:
        self.statements.append(statement)
        self.checkouts += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += 1

    def take(self) -> tuple[list[str], int]:
        statements, checkouts = self.statements, self.checkouts
        self.statements, self.checkouts = [], 0
        return statements, checkouts

    def close(self) -> None:
        from peiling import database

        database.statement_listeners.remove(self._raw_statement)
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine.pool, "checkout", self._checkout)


@dataclass
class Timed:
    """SQL statements of the first (cold) and later (warm) requests, and warm timings."""

    cold: list[str]
    cold_checkouts: int
    warm: list[str]
    warm_checkouts: int
    warm_counts: list[int]  # statements of each timed request
    seconds: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.seconds, n=20, method="inclusive")[18] * 1000


def _measure(app: Flask, request: Callable[[FlaskClient], None], repeat: int) -> Timed:
    from peiling.extensions import db
    from peiling.surveys import definition

    with app.app_context():
        engine = db.engine
    definition.clear_cache()  # as in a worker that has not shown this poll yet
    log = QueryLog(engine)
    try:
        client = app.test_client(use_cookies=False)
        request(client)
        cold, cold_checkouts = log.take()
        request(client)
        warm, warm_checkouts = log.take()
        counts, seconds = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            request(client)
            seconds.append(time.perf_counter() - start)
            counts.append(len(log.take()[0]))
    finally:
        log.close()
    return Timed(cold, cold_checkouts, warm, warm_checkouts, counts, seconds)


def page_views(app: Flask, repeat: int = 200) -> Timed:
    """SQL per view of the first page, cold and warm, and the time of `repeat` warm views."""

    def view(client: FlaskClient) -> None:
        response = client.get(FORM_PATH)
        if response.status_code != 200:
            raise RuntimeError(f"GET {FORM_PATH} answered {response.status_code}")

    return _measure(app, view, repeat)


def session_and_csrf(client: FlaskClient) -> tuple[str, str]:
    """The form cookie and CSRF token a first-time visitor gets from the first page."""
    response = client.get(FORM_PATH)
    cookie = form_cookie(response.headers.getlist("Set-Cookie"))
    return cookie, csrf_token(response.get_data(as_text=True))


class Submitter:
    """Complete submissions through the test client, each with a token of its own."""

    def __init__(self, app: Flask) -> None:
        self.cookie, self.csrf = session_and_csrf(app.test_client(use_cookies=False))
        self.sent = 0
        self.redirected = 0

    def __call__(self, client: FlaskClient) -> None:
        self.sent += 1
        response = client.post(
            FORM_PATH,
            data=submission_body(self.csrf, f"inprocess-{time.time_ns()}-{self.sent:06d}"),
            content_type="application/x-www-form-urlencoded",
            headers={"Cookie": self.cookie},
        )
        location = response.headers.get("Location", "")
        if response.status_code != 303 or not location.endswith(THANKS_PATH):
            raise RuntimeError(f"submission answered {response.status_code} {location!r}")
        self.redirected += 1


def submissions(app: Flask, repeat: int = 200) -> tuple[Timed, int]:
    """SQL and server time of complete submissions; also how many were answered with 303."""
    submit = Submitter(app)
    return _measure(app, submit, repeat), submit.redirected
