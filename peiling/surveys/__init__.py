"""Questionnaires and the public response form."""

from flask import Blueprint

bp = Blueprint("surveys", __name__)

from peiling.surveys import views  # noqa: E402,F401  (registers the routes on bp)
