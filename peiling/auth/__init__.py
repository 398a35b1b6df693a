"""Staff accounts: login and logout."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from peiling.auth import views  # noqa: E402,F401  (registers the routes on bp)
