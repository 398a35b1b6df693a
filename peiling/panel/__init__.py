"""The resident panel: members, recruitment by letter, their own data; waves follow."""

from flask import Blueprint

bp = Blueprint("panel", __name__)

from peiling.panel import cli, models, views  # noqa: E402,F401  (the tables, routes and CLI)
