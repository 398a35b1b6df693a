"""The public form at /p/<slug>: page views, navigation, submission and status pages."""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from werkzeug.http import dump_cookie
from werkzeug.wrappers import Response

from peiling import i18n
from peiling.extensions import csrf, db
from peiling.numbers import whole_number
from peiling.ratelimit import Counted, submit_limiter
from peiling.surveys import bp, formguard, removal, translation
from peiling.surveys.answers import Cleaned, Problems
from peiling.surveys.definition import PageDef, SurveyDef, get_definition, last_served
from peiling.surveys.flow import Outcome, advance, first_page
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import SOURCE_MAX, Survey
from peiling.surveys.render import page_context
from peiling.surveys.services import (
    Availability,
    DuplicateSubmission,
    ResponseMeta,
    SurveyChanged,
    availability,
    find_survey,
    store_response,
    token_used,
)
from peiling.web import database_error, posted_fields

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
SOURCE_RE = re.compile(rf"^[a-z0-9_-]{{1,{SOURCE_MAX}}}$")
HONEYPOT = "website"
LANGUAGE_BUTTON = "taal_kiezen"  # the form's buttons that show the page in another language
LANGUAGE_NAMES = i18n.RESPONDENT_LANGUAGES
MAX_VALUES_PER_FIELD = 50

STATUS_PAGES = {
    Availability.NOT_FOUND: "not_found",
    Availability.NOT_YET_OPEN: "not_yet_open",
    Availability.CLOSED: "closed",
}


def answering_language(survey: Survey | None, asked: str | None = None) -> str:
    """The language to answer `survey` in: `asked` (the form's own field) if the survey
    offers it, else ?taal=, the language cookie or the browser's preference; Dutch when
    the survey offers none of those. Also makes it the interface language of the request."""
    offered = translation.offered(survey.languages if survey else None)
    lang = asked if asked in offered else i18n.preferred(offered)
    i18n.use(lang)
    return lang


def _status_page(state: str, survey: Survey | SurveyDef | None) -> str:
    lang = i18n.current()
    title = survey.title if survey is not None else ""
    if isinstance(survey, Survey):
        title = translation.text(survey.translations, lang, "title", survey.title)
    return render_template(
        "surveys/status.html",
        state=state,
        survey=survey,
        survey_title=title,
        **language_links(survey),
    )


def language_links(survey: Survey | SurveyDef | None) -> dict[str, Any]:
    """Links to the same page in the survey's other languages."""
    if survey is None:
        return {"other_languages": ()}
    offered = (
        survey.languages if isinstance(survey, SurveyDef) else translation.offered(survey.languages)
    )
    current = i18n.current()
    return {"other_languages": [(c, LANGUAGE_NAMES[c]) for c in offered if c != current]}


def _lookup(slug: str, asked: str | None = None) -> tuple[SurveyDef | None, tuple[str, int] | None]:
    """Return the open survey's definition in the respondent's language, or the status page
    to show instead."""
    survey = find_survey(db.session, slug)
    lang = answering_language(survey, asked)
    state = availability(survey)
    if state is not Availability.OPEN:
        return None, (_status_page(STATUS_PAGES[state], survey), state.value)
    assert survey is not None  # noqa: S101 - availability() returned OPEN
    return get_definition(db.session, survey, lang), None


def _load(slug: str, asked: str | None = None) -> SurveyDef:
    defn, status_page = _lookup(slug, asked)
    if status_page is not None:
        abort(make_response(*status_page))
    assert defn is not None  # noqa: S101
    return defn


Fields = dict[str, list[str]]


def _responded_cookie(defn: SurveyDef) -> str:
    return f"peiling_{defn.id}"


def _already_responded(defn: SurveyDef) -> bool:
    return not defn.allow_multiple_responses and bool(request.cookies.get(_responded_cookie(defn)))


def _first(fields: Fields, name: str) -> str:
    values = fields.get(name)
    return values[0] if values else ""


# The public URLs and the "already answered" cookie depend only on the slug, the survey and
# settings, so the submission path builds them once instead of on every POST.
@lru_cache(maxsize=512)
def _public_urls(script_root: str, slug: str, lang: str) -> tuple[str, str]:
    taal = {} if lang == translation.SOURCE else {"taal": lang}
    return url_for(".form", slug=slug), url_for(".thanks", slug=slug, **taal)


@lru_cache(maxsize=512)
def _responded_header(name: str, path: str, max_age: int, secure: bool) -> str:
    # Max-Age only (no Expires date computed per request); every current browser honours it.
    return dump_cookie(
        name,
        "1",
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="Lax",
        secure=secure,
        sync_expires=False,
    )


_HTML = "text/html; charset=utf-8"


def _to_thanks(defn: SurveyDef, remember: bool, removal_code: str | None = None) -> Response:
    """303 to the thank-you page, telling the browser it has answered when `remember`, and
    handing the thank-you page the removal code in a cookie for that page only (a URL
    would leave it in logs and the browser's history)."""
    form_url, thanks_url = _public_urls(request.script_root, defn.slug, defn.lang)
    headers = [("Location", thanks_url)]
    config = current_app.config
    secure = bool(config.get("SESSION_COOKIE_SECURE", False))
    if remember:
        cookie = _responded_header(
            _responded_cookie(defn),
            form_url,
            int(config["RESPONDED_COOKIE_DAYS"]) * 24 * 3600,
            secure,
        )
        headers.append(("Set-Cookie", cookie))
    if removal_code is not None:
        path = thanks_url.partition("?")[0]
        max_age = int(config["REMOVAL_CODE_SECONDS"])
        headers.append(("Set-Cookie", removal.cookie_header(removal_code, path, max_age, secure)))
    # With its content type given, werkzeug need not look for one among the headers (a
    # KeyError raised and caught on every submission).
    return current_app.response_class(status=303, headers=headers, content_type=_HTML)


def clean_source(value: str | None) -> str | None:
    """Accept a short lowercase tag such as `instagram` or `school-12`; ignore anything else."""
    value = (value or "").strip().lower()
    return value if SOURCE_RE.match(value) else None


def extract_raw(defn: SurveyDef, fields: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Keep only the posted fields that belong to this questionnaire."""
    raw = {}
    for name in defn.field_names:
        values = fields.get(name)
        if values:
            raw[name] = list(values[:MAX_VALUES_PER_FIELD])
    return raw


def _render(
    defn: SurveyDef,
    page: PageDef,
    raw: Mapping[str, Sequence[str]],
    token: str,
    source: str | None,
    problems: Problems | None = None,
    notice: str | None = None,
    status: int = 200,
    retry_after: int = 5,
) -> ResponseReturnValue:
    i18n.use(defn.lang)
    context = page_context(defn, page, raw, problems or Problems())
    context["wait_minutes"] = -(-retry_after // 60)
    html = render_template(
        "surveys/page.html",
        **language_links(defn),
        csrf_token=formguard.token(),
        token=token,
        source=source,
        honeypot=HONEYPOT,
        notice=notice,
        **context,
    )
    response = make_response(html, status)
    formguard.remember(response)
    response.headers["Cache-Control"] = "no-store"
    if status in (429, 503):
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.get("/p/<slug>")
def form(slug: str) -> ResponseReturnValue:
    if slug != slug.lower():
        return _to_form_address(slug)
    defn = _load(slug)
    if _already_responded(defn):
        return _status_page("already", defn)
    raw: dict[str, list[str]] = {}
    token = secrets.token_urlsafe(24)
    return _render(defn, first_page(defn, raw), raw, token, clean_source(request.args.get("bron")))


@bp.get("/p/<slug>/")
def form_with_slash(slug: str) -> ResponseReturnValue:
    return _to_form_address(slug)


def _to_form_address(slug: str) -> ResponseReturnValue:
    """Redirect a poll's address as typed from a poster or flyer (capitals, a trailing
    slash) to the form, keeping the query string (the source, the language).

    Slugs are lower case (importer.SLUG_RE), so this is never a different survey; an
    unknown one gets its "not found" at the form's own address.
    """
    return redirect(
        url_for(".form", slug=slug.lower(), **request.args.to_dict(flat=False)), code=308
    )


@bp.post("/p/<slug>")
@csrf.exempt  # checked by formguard instead: no server session for respondents
def post(slug: str) -> ResponseReturnValue:
    # Counted before anything else, so that a flood costs as little as possible. Redis'
    # answer is read once the posted page has been checked (work for this CPU alone, done
    # while the count travels), and always before anything is looked up, stored or shown.
    counted = submit_limiter().send(request.remote_addr)
    fields = posted_fields()
    refused = None
    try:
        formguard.check(_first(fields, formguard.FIELD))
    except CSRFError as exc:
        refused = exc
    # The final POST of a poll this worker has shown is answered from the cached definition,
    # without looking the survey up: store_response() checks in the same SQL statement that
    # the survey is still open and unchanged. Every other step looks it up first.
    lang = _first(fields, "taal") or translation.SOURCE
    cached = last_served(slug, lang)
    if refused is not None or cached is None:  # a page to look up or show: the count first
        wait = counted.wait()
        if wait is not None:
            return _too_many(slug, fields, wait)
        if refused is not None:
            raise refused
    return _answer_post(cached or _load(slug, lang), fields, counted, checked=cached is None)


def _answer_post(
    defn: SurveyDef, fields: Fields, counted: Counted, checked: bool
) -> ResponseReturnValue:
    i18n.use(defn.lang)  # error messages are made while validating, before any rendering
    token = _first(fields, "token")
    if not TOKEN_RE.match(token):
        abort(400)
    raw = extract_raw(defn, fields)
    bot = bool(_first(fields, HONEYPOT))
    switch_to = _first(fields, LANGUAGE_BUTTON)
    step = None
    if not (bot or switch_to):
        going_back = _first(fields, "actie") == "terug"
        step = advance(defn, raw, _page_index(fields), going_back)
    wait = counted.wait()
    if wait is not None:
        return _too_many(defn.slug, fields, wait)
    if bot:
        # Bots get the ordinary thank-you page, so they learn nothing; nothing is stored.
        return _to_thanks(defn, remember=False)
    source = clean_source(_first(fields, "bron"))
    if step is None:
        return _switch_language(defn, fields, raw, token, source, switch_to)
    if step.outcome is not Outcome.SUBMIT and not checked:
        fresh = _load(defn.slug, defn.lang)  # every step but the final one looks it up
        if fresh is not defn:  # edited since it was cached: decide again with the new version
            return _answer_post(fresh, fields, counted, checked=True)
    if step.outcome is Outcome.AGE_GATE:
        i18n.use(defn.lang)
        return render_template("surveys/age_gate.html", survey=defn)
    if step.outcome is Outcome.SHOW_PAGE:
        assert step.page is not None  # noqa: S101
        status = 422 if step.problems else 200
        return _render(defn, step.page, raw, token, source, step.problems, status=status)
    try:
        return _submit(defn, step.answers, raw, token, source)
    except SurveyChanged:
        # Closed or edited meanwhile: look again. The fresh lookup shows the status page if it
        # closed, or validates the answers against the new version.
        if checked:
            return _render_retry(defn, raw, token, source)
        return _answer_post(_load(defn.slug, defn.lang), fields, counted, checked=True)


def _too_many(slug: str, fields: Fields, wait: int) -> ResponseReturnValue:
    """Over the client's limit: the same page again, every answer kept, asking to wait."""
    token = _first(fields, "token")
    if not TOKEN_RE.match(token):
        abort(429)  # not a respondent's form: no page to keep, and no work spent on it
    lang = _first(fields, "taal") or translation.SOURCE
    defn = last_served(slug, lang) or _load(slug, lang)
    raw = extract_raw(defn, fields)
    page = _posted_page(defn, raw, fields)
    source = clean_source(_first(fields, "bron"))
    return _render(defn, page, raw, token, source, notice="busy", status=429, retry_after=wait)


def _switch_language(
    defn: SurveyDef, fields: Fields, raw: Fields, token: str, source: str | None, lang: str
) -> ResponseReturnValue:
    """The same page again in another of the survey's languages, every answer kept and
    nothing checked yet (like going back a page)."""
    if lang not in defn.languages:
        abort(400)
    translated = _load(defn.slug, lang)
    page = _posted_page(translated, raw, fields)
    return _render(translated, page, raw, token, source)


def _posted_page(defn: SurveyDef, raw: Fields, fields: Fields) -> PageDef:
    """The page the respondent posted from, if it is still shown, else the first."""
    pages = visible_pages(defn, raw)
    index = _page_index(fields)
    return next((p for p in pages if p.index == index), pages[0])


def _page_index(fields: Fields) -> int:
    return whole_number(_first(fields, "pagina"), max_digits=3) or 0


def _submit(
    defn: SurveyDef,
    answers: dict[str, Cleaned],
    raw: Mapping[str, Sequence[str]],
    token: str,
    source: str | None,
) -> ResponseReturnValue:
    """Store the response once and redirect to the thank-you page (or say why not)."""
    # The same token gives the same code: a double click or retry shows the code again.
    code = removal.code_for(token)
    meta = ResponseMeta(token, source, language=defn.lang, removal_hash=removal.hash_of(code))
    try:
        if _already_responded(defn) and not token_used(db.session, token):
            i18n.use(defn.lang)
            return _status_page("already", defn), 409
        store_response(db.session, defn, answers, meta)
    except DuplicateSubmission:
        pass  # stored by an earlier click or retry: answer it exactly as the first time
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("could not store response for %s: %s", defn.slug, type(exc).__name__)
        return _render_retry(defn, raw, token, source)
    return _to_thanks(defn, remember=True, removal_code=code)


def _render_retry(
    defn: SurveyDef, raw: Mapping[str, Sequence[str]], token: str, source: str | None
) -> ResponseReturnValue:
    """The last page again, every answer kept, asking to send once more in a moment."""
    last = visible_pages(defn, raw)[-1]
    return _render(defn, last, raw, token, source, notice="db_error", status=503)


def info_context(survey: Survey, lang: str) -> dict[str, Any]:
    """What the thank-you and privacy pages show of `survey`, in `lang` (the current
    language): also the designer's preview of the privacy page."""
    return {
        "survey": survey,
        "survey_title": translation.text(survey.translations, lang, "title", survey.title),
        "privacy_statement": translation.text(
            survey.translations, lang, "privacy_statement", survey.privacy_statement
        ),
        "taal": {} if lang == translation.SOURCE else {"taal": lang},
        **language_links(survey),
    }


def _info_page(template: str, slug: str, **context: Any) -> str:
    """The thank-you or privacy page, in the language of the ?taal= link or the browser."""
    survey = find_survey(db.session, slug)
    if survey is None or availability(survey) is Availability.NOT_FOUND:
        abort(404)
    return render_template(template, **context, **info_context(survey, answering_language(survey)))


@bp.get("/p/<slug>/bedankt")
def thanks(slug: str) -> ResponseReturnValue:
    code = removal.from_cookie(request.cookies.get(removal.COOKIE))
    response = make_response(
        _info_page("surveys/thanks.html", slug, removal_code=code and removal.shown(code))
    )
    if code:
        response.headers["Cache-Control"] = "no-store"  # the code is for her eyes only
    return response


@bp.get("/p/<slug>/privacy")
def privacy(slug: str) -> ResponseReturnValue:
    return _info_page("surveys/privacy.html", slug)


# The public form and a panel wave's form, where a respondent's answers travel in the POST.
RETRY_ENDPOINTS = frozenset({"surveys.post", "panel.wave_form"})


@bp.errorhandler(DBAPIError)
def database_unavailable(exc: DBAPIError) -> ResponseReturnValue:
    """The database failed while a respondent moved through a form (the public form's final
    step has its own retry page): show a page that posts exactly what she sent once more,
    so that no answer is lost even when this worker cannot even read the questionnaire."""
    if request.method != "POST" or request.endpoint not in RETRY_ENDPOINTS:
        return database_error(exc)
    log.error("database unavailable on a form step: %s", type(exc).__name__)
    with contextlib.suppress(Exception):  # the connection may be gone; teardown drops it
        db.session.rollback()
    fields = posted_fields()
    lang = _first(fields, "taal")
    if lang in LANGUAGE_NAMES:  # the language she was answering in, not the browser's
        i18n.use(lang)
    html = render_template(
        "errors/retry.html",
        action=request.path,
        fields=[(name, value) for name, values in fields.items() for value in values],
        text=_(
            "We konden je antwoorden nu niet verwerken. Ze zijn niet kwijt: probeer het over een"
            " minuutje opnieuw met de knop hieronder."
        ),
    )
    response = make_response(html, 503)
    response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(CSRFError)
def csrf_expired(exc: CSRFError) -> ResponseReturnValue:
    """Re-show the page with every answer kept, and a fresh token, after a CSRF failure."""
    slug = (request.view_args or {}).get("slug")
    fields = posted_fields()
    token = _first(fields, "token")
    # A closed or unknown survey says so, rather than talking about an expired session.
    # (No abort() here: an exception raised inside an error handler is not handled again.)
    defn, status_page = _lookup(slug, _first(fields, "taal")) if slug else (None, None)
    if status_page is not None:
        return status_page
    if defn is None or request.endpoint != "surveys.post" or not TOKEN_RE.match(token):
        return render_template(
            "errors/error.html",
            title=_("Je sessie is verlopen"),
            text=_("Ga terug naar het begin en probeer het opnieuw."),
            code=400,
        ), 400
    raw = extract_raw(defn, fields)
    page = _posted_page(defn, raw, fields)
    source = clean_source(_first(fields, "bron"))
    return _render(defn, page, raw, token, source, notice="csrf", status=400)
