"""Staff pages of the analysis blueprint: the survey list and a survey's results."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from peiling.analysis import bp, charts, exports, profiles, workbook
from peiling.analysis.crosstab import crosstab, crosstab_questions
from peiling.analysis.factsheet import fact_sheet, pair_bars
from peiling.analysis.filters import AGE_BANDS, Filters
from peiling.analysis.headlines import headlines
from peiling.analysis.open_answers import LIMIT, open_answers
from peiling.analysis.results import results
from peiling.analysis.services import survey_overview
from peiling.analysis.volunteers import activity_choices, volunteers
from peiling.analysis.weighting import TargetError, parse_targets, save_targets, targets, weighting
from peiling.auth.access import RESULTS, roles_required, scope_of
from peiling.auth.models import Role
from peiling.auth.services import record
from peiling.extensions import db
from peiling.geo import Municipality
from peiling.surveys.definition import get_definition
from peiling.surveys.models import Survey
from peiling.surveys.services import find_survey


@bp.get("/")
@roles_required(*RESULTS)
def index() -> ResponseReturnValue:
    overview = survey_overview(db.session, scope_of(current_user))
    return render_template("analysis/index.html", surveys=overview)


@bp.get("/<slug>/")
@roles_required(*RESULTS)
def dashboard(slug: str) -> ResponseReturnValue:
    """Every closed question in total and per municipality, with filters (GET, bookmarkable)."""
    survey = _survey(slug)
    scope = scope_of(current_user)
    filters = Filters.from_args(request.args)
    minimum = int(current_app.config["ANALYSIS_MINIMUM_GROUP"])
    defn = get_definition(db.session, survey)
    found = results(db.session, defn, scope, filters, minimum)
    weighted = weighting(db.session, defn, scope, filters)
    rows, columns = request.args.get("rij", ""), request.args.get("kolom", "")
    table = crosstab(db.session, defn, scope, filters, rows, columns, minimum) if rows else None
    fields = profiles.profile_fields(db.session, survey.id)
    field = next((f for f in fields if f.code == request.args.get("profiel")), None)
    by_profile = (
        profiles.breakdown(db.session, defn, scope, filters, field, minimum) if field else None
    )
    return render_template(
        "analysis/dashboard.html",
        survey=survey,
        found=found,
        crosstab=table,
        profile_fields=fields,
        profile_field=field,
        by_profile=by_profile,
        weighted=weighted,
        crosstab_questions=crosstab_questions(defn),
        chosen=(rows, columns),
        headlines=headlines(found),
        filters=filters,
        municipalities=_municipalities(survey),
        age_bands=list(AGE_BANDS),
        bars=charts.bars,
        total_shares=charts.total_shares,
    )


def _survey(slug: str) -> Survey:
    survey = find_survey(db.session, slug)
    if survey is None:
        abort(404)
    return survey


def _municipalities(survey: Survey) -> list[Municipality]:
    """The survey region's municipalities the current user may see."""
    scope = scope_of(current_user)
    places = db.session.scalars(
        select(Municipality)
        .where(Municipality.region_code == survey.region_code)
        .order_by(Municipality.name)
    ).all()
    return [m for m in places if scope.allows(m.code)]


@bp.get("/<slug>/vrijwilligers")
@roles_required(*RESULTS)
def volunteer_list(slug: str) -> ResponseReturnValue:
    """Who wants to help organise, with contact details: audited, scoped, permission only."""
    scope = scope_of(current_user)
    if not scope.volunteers:
        abort(403)
    survey = _survey(slug)
    defn = get_definition(db.session, survey)
    place = request.args.get("gemeente") or None
    activity = request.args.get("activiteit") or None
    rows = volunteers(db.session, defn, scope, place, activity)
    record(db.session, current_user, "viewed_volunteers", survey.slug,
           municipality=place or "", activity=activity or "", shown=len(rows))  # fmt: skip
    db.session.commit()
    response = make_response(
        render_template(
            "analysis/volunteers.html",
            survey=survey,
            rows=rows,
            municipalities=_municipalities(survey),
            activities=activity_choices(defn),
            place=place,
            activity=activity,
        )
    )
    response.headers["Cache-Control"] = "no-store"  # contact details of minors
    return response


@bp.get("/<slug>/open")
@roles_required(*RESULTS)
def open_texts(slug: str) -> ResponseReturnValue:
    """The open answers, searchable, with the dashboard's filters."""
    survey = _survey(slug)
    filters = Filters.from_args(request.args)
    search = (request.args.get("zoek") or "")[:100]
    found = open_answers(
        db.session,
        get_definition(db.session, survey),
        scope_of(current_user),
        filters,
        search,
        int(current_app.config["ANALYSIS_MINIMUM_GROUP"]),
    )
    return render_template(
        "analysis/open.html",
        survey=survey,
        found=found,
        filters=filters,
        search=search,
        limit=LIMIT,
        minimum=current_app.config["ANALYSIS_MINIMUM_GROUP"],
        municipalities=_municipalities(survey),
        age_bands=list(AGE_BANDS),
    )


def _send_made_file(slug: str, name: str, make: Callable[[Path], None]) -> ResponseReturnValue:
    """Make a download in a temporary file (memory stays flat), audit it, send it, and
    remove the file once it has been sent (or when making it failed)."""
    handle = tempfile.NamedTemporaryFile(suffix=Path(name).suffix, delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        make(path)
        record(db.session, current_user, "exported", slug, file=name)
        db.session.commit()
        response = send_file(path, as_attachment=True, download_name=name, max_age=0)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(lambda: path.unlink(missing_ok=True))
    return response


def _send_workbook(survey: Survey, municipality: str | None, name: str) -> ResponseReturnValue:
    request_ = workbook.Request(
        municipality, scope_of(current_user), int(current_app.config["ANALYSIS_MINIMUM_GROUP"])
    )
    defn = get_definition(db.session, survey)
    return _send_made_file(
        survey.slug, name, lambda path: workbook.write(path, db.session, defn, request_)
    )


@bp.get("/<slug>/export.xlsx")
@roles_required(*RESULTS)
def export_region(slug: str) -> ResponseReturnValue:
    """Everything the user may see of the survey, in one workbook."""
    survey = _survey(slug)
    return _send_workbook(survey, None, f"{survey.slug}.xlsx")


@bp.get("/<slug>/export/<code>.xlsx")
@roles_required(*RESULTS)
def export_municipality(slug: str, code: str) -> ResponseReturnValue:
    """One municipality's workbook (CBS code), next to the province where allowed."""
    survey = _survey(slug)
    if code not in {m.code for m in _municipalities(survey)}:
        abort(404)  # not in the region, or not in the user's scope: it does not exist for her
    return _send_workbook(survey, code, f"{survey.slug}-{code}.xlsx")


@bp.get("/<slug>/export.zip")
@roles_required(*RESULTS)
def export_all(slug: str) -> ResponseReturnValue:
    """Every municipality's workbook the user may see, in one zip (built on disk)."""
    survey = _survey(slug)
    scope = scope_of(current_user)
    minimum = int(current_app.config["ANALYSIS_MINIMUM_GROUP"])
    defn = get_definition(db.session, survey)

    def make(target: Path) -> None:
        with (
            tempfile.TemporaryDirectory() as folder,
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            for place in _municipalities(survey):
                path = Path(folder) / f"{survey.slug}-{place.code}.xlsx"
                workbook.write(path, db.session, defn, workbook.Request(place.code, scope, minimum))
                archive.write(path, path.name)
                path.unlink()

    return _send_made_file(survey.slug, f"{survey.slug}-gemeenten.zip", make)


@bp.get("/<slug>/feitenblad/<code>")
@roles_required(*RESULTS)
def factsheet(slug: str, code: str) -> ResponseReturnValue:
    """One municipality's key figures on one printable A4 page."""
    survey = _survey(slug)
    place = next((m for m in _municipalities(survey) if m.code == code), None)
    if place is None:
        abort(404)
    sheet = fact_sheet(
        db.session,
        get_definition(db.session, survey),
        scope_of(current_user),
        place.code,
        place.name,
        int(current_app.config["ANALYSIS_MINIMUM_GROUP"]),
    )
    return render_template("analysis/factsheet.html", survey=survey, sheet=sheet, bars=pair_bars)


@bp.route("/<slug>/weging", methods=["GET", "POST"])
@roles_required(Role.RESEARCHER)
def weights(slug: str) -> ResponseReturnValue:
    """Upload the population targets (CSV) the results are weighted to."""
    survey = _survey(slug)
    problems: list[str] = []
    if request.method == "POST":
        upload = request.files.get("bestand")
        content = upload.read(1024 * 1024).decode("utf-8-sig", "replace") if upload else ""
        try:
            rows = parse_targets(db.session, survey, content)
        except TargetError as exc:
            problems = exc.problems
        else:
            save_targets(db.session, survey, rows)
            record(db.session, current_user, "changed", survey.slug, weighting=len(rows))
            db.session.commit()
            flash(_("De %(n)s doelen zijn bewaard.", n=len(rows)))
            return redirect(url_for(".weights", slug=slug))
    return render_template(
        "analysis/weights.html",
        survey=survey,
        rows=targets(db.session, survey.id),
        problems=problems,
    ), (422 if problems else 200)


@bp.post("/<slug>/export/achtergrond")
@roles_required(*RESULTS)
def export_start(slug: str) -> ResponseReturnValue:
    """Start a (large) workbook in the background and follow its progress."""
    survey = _survey(slug)
    municipality = request.form.get("gemeente") or None
    if municipality and municipality not in {m.code for m in _municipalities(survey)}:
        abort(404)
    job = exports.start(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        survey.id,
        survey.slug,
        current_user.id,
        scope_of(current_user),
        municipality,
        int(current_app.config["ANALYSIS_MINIMUM_GROUP"]),
    )
    return redirect(url_for(".export_job", slug=slug, job=job), code=303)


@bp.get("/<slug>/export/taak/<job>")
@roles_required(*RESULTS)
def export_job(slug: str, job: str) -> ResponseReturnValue:
    found = exports.status(current_app._get_current_object(), job, current_user.id)  # type: ignore[attr-defined]
    if found is None or found.survey != slug:
        abort(404)
    response = make_response(
        render_template("analysis/export_job.html", survey=_survey(slug), job=job, status=found)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/export/taak/<job>/bestand")
@roles_required(*RESULTS)
def export_file(slug: str, job: str) -> ResponseReturnValue:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = exports.status(app, job, current_user.id)
    if found is None or found.survey != slug or found.state != "done":
        abort(404)
    record(db.session, current_user, "exported", slug, file=found.name)
    db.session.commit()
    response = send_file(
        exports.file_of(app, job), as_attachment=True, download_name=found.name, max_age=0
    )
    response.headers["Cache-Control"] = "no-store"
    return response
