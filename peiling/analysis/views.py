"""Staff pages of the analysis blueprint: the survey list and a survey's results."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from peiling.analysis import bp, charts
from peiling.analysis.results import AGE_BANDS, Filters, results
from peiling.analysis.services import survey_overview
from peiling.auth.access import RESULTS, roles_required, scope_of
from peiling.extensions import db
from peiling.geo import Municipality
from peiling.surveys.definition import get_definition
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
    survey = find_survey(db.session, slug)
    if survey is None:
        abort(404)
    scope = scope_of(current_user)
    filters = Filters.from_args(request.args)
    minimum = int(current_app.config["ANALYSIS_MINIMUM_GROUP"])
    found = results(db.session, get_definition(db.session, survey), scope, filters, minimum)
    places = db.session.scalars(
        db.select(Municipality)
        .where(Municipality.region_code == survey.region_code)
        .order_by(Municipality.name)
    ).all()
    return render_template(
        "analysis/dashboard.html",
        survey=survey,
        found=found,
        filters=filters,
        municipalities=[m for m in places if scope.allows(m.code)],
        age_bands=list(AGE_BANDS),
        bars=charts.bars,
        total_shares=charts.total_shares,
    )
