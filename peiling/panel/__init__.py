"""The resident panel: members, recruitment by letter, their own data; waves follow."""

from flask import Blueprint

bp = Blueprint("panel", __name__)

from peiling.panel import cli, models, views, wave_views  # noqa: E402,F401  (tables, routes, CLI)
