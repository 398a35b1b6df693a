"""The questionnaire designer for researchers: lifecycle, duplication and safe editing."""

from flask import Blueprint

bp = Blueprint("designer", __name__)

from peiling.designer import editor, share, views  # noqa: E402,F401  (register the routes)
