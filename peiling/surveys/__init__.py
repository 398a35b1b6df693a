"""Questionnaires and the public response form."""

from flask import Blueprint

bp = Blueprint("surveys", __name__)

from peiling.surveys import removal, removal_views, views  # noqa: E402,F401  (routes on bp)

bp.record_once(lambda state: removal.init_app(state.app))
