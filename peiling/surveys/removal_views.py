"""The public page at /p/<slug>/verwijderen where a respondent has her response deleted
with the removal code from the thank-you page (surveys/removal.py)."""

from __future__ import annotations

from flask import abort, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError

from peiling.extensions import csrf, db
from peiling.surveys import bp, formguard, removal, translation
from peiling.surveys.models import Survey
from peiling.surveys.services import Availability, availability, find_survey
from peiling.surveys.views import answering_language, language_links
from peiling.web import posted_fields

FIELD = "code"


def _survey(slug: str) -> Survey:
    """The survey, open or closed: a response may be removed after the poll closed too."""
    survey = find_survey(db.session, slug)
    if survey is None or availability(survey) is Availability.NOT_FOUND:
        abort(404)
    assert survey is not None  # noqa: S101
    return survey


def _page(
    survey: Survey, state: str = "form", error: str | None = None, typed: str = "", **extra: object
) -> ResponseReturnValue:
    """The removal form (with `error`: unknown, format, throttled, csrf) or its outcome."""
    lang = answering_language(survey)
    html = render_template(
        "surveys/removal.html",
        survey=survey,
        survey_title=translation.text(survey.translations, lang, "title", survey.title),
        taal={} if lang == translation.SOURCE else {"taal": lang},
        state=state,
        error=error,
        typed=typed,
        field=FIELD,
        csrf_token=formguard.token(),
        **extra,
        **language_links(survey),
    )
    status = {None: 200, "csrf": 400, "throttled": 429}.get(error, 422)
    response = make_response(html, status)
    formguard.remember(response)
    response.headers["Cache-Control"] = "no-store"
    if error == "throttled":
        response.headers["Retry-After"] = str(extra.get("wait", 60))
    return response


@bp.get("/p/<slug>/verwijderen")
def removal_form(slug: str) -> ResponseReturnValue:
    return _page(_survey(slug))


@bp.post("/p/<slug>/verwijderen")
@csrf.exempt  # checked by formguard instead: no server session for respondents
def removal_post(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    fields = posted_fields()
    typed = (fields.get(FIELD) or [""])[0][: removal.TYPED_MAX]
    try:
        formguard.check((fields.get(formguard.FIELD) or [""])[0])
    except CSRFError:
        return _page(survey, error="csrf", typed=typed)
    code = removal.normalise(typed)
    if code is None:
        return _page(survey, error="format", typed=typed)
    client = removal.client_key(request.remote_addr or "")
    wait = removal.throttle().wait_for(client=client)
    if wait is not None:
        return _page(survey, error="throttled", typed=typed, wait=wait, minutes=-(-wait // 60))
    if removal.remove_response(db.session, survey.id, code) is removal.Removal.UNKNOWN:
        removal.throttle().failed_for(client=client)
        return _page(survey, error="unknown", typed=typed)
    db.session.commit()
    return _page(survey, state="removed")  # now, or by an earlier press of the same code
