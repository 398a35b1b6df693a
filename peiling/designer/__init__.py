"""The questionnaire designer for researchers: lifecycle, duplication and safe editing."""

from flask import Blueprint

bp = Blueprint("designer", __name__)

from peiling.designer import editor, share, translate, views  # noqa: E402,F401  (the routes)
