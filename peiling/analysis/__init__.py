"""Results for staff: counts per question, option and municipality."""

from flask import Blueprint

bp = Blueprint("analysis", __name__)

from peiling.analysis import views  # noqa: E402,F401  (registers the routes on bp)
