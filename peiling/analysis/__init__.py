"""Results for staff: counts per question, option and municipality."""

from flask import Blueprint

bp = Blueprint("analysis", __name__)

from peiling.analysis import models, views  # noqa: E402,F401  (the table and the routes)
