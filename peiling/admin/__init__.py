"""Administration for admins: staff accounts and the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from peiling.admin import views  # noqa: E402,F401  (registers the routes on bp)
