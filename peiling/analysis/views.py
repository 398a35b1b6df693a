"""Staff pages of the analysis blueprint."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from peiling.analysis import bp
from peiling.analysis.services import survey_overview
from peiling.extensions import db


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    return render_template("analysis/index.html", surveys=survey_overview(db.session))
